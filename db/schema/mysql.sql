-- Kamailio 5.6.3 presence tables for MySQL/MariaDB: the columns, keys and version rows of
-- Debian's /usr/share/kamailio/mysql/{standard,presence}-create.sql (utils/kamctl/mysql), so
-- kamctl, kamcli, stock modules and an operator's own SQL keep working. Created by the engine
-- when missing (IF NOT EXISTS). Two differences of form, none of result: the indexes are
-- declared inside CREATE TABLE (MySQL has no CREATE INDEX IF NOT EXISTS), and the tables ask
-- for InnoDB, the default engine of every supported server, which the transactions need.
-- One statement per ';' at a line's end (the backend runs them one by one).
CREATE TABLE IF NOT EXISTS `version` (
    `id` INT(10) UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL,
    `table_name` VARCHAR(32) NOT NULL,
    `table_version` INT UNSIGNED DEFAULT 0 NOT NULL,
    CONSTRAINT table_name_idx UNIQUE (`table_name`)
) ENGINE=InnoDB;
INSERT IGNORE INTO version (table_name, table_version) values ('version','1');

CREATE TABLE IF NOT EXISTS `presentity` (
    `id` INT(10) UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL,
    `username` VARCHAR(64) NOT NULL,
    `domain` VARCHAR(64) NOT NULL,
    `event` VARCHAR(64) NOT NULL,
    `etag` VARCHAR(128) NOT NULL,
    `expires` INT(11) NOT NULL,
    `received_time` INT(11) NOT NULL,
    `body` BLOB NOT NULL,
    `sender` VARCHAR(255) NOT NULL,
    `priority` INT(11) DEFAULT 0 NOT NULL,
    `ruid` VARCHAR(64),
    CONSTRAINT presentity_idx UNIQUE (`username`, `domain`, `event`, `etag`),
    CONSTRAINT ruid_idx UNIQUE (`ruid`),
    INDEX presentity_expires (`expires`),
    INDEX account_idx (`username`, `domain`, `event`)
) ENGINE=InnoDB;
INSERT IGNORE INTO version (table_name, table_version) values ('presentity','5');

CREATE TABLE IF NOT EXISTS `active_watchers` (
    `id` INT(10) UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL,
    `presentity_uri` VARCHAR(255) NOT NULL,
    `watcher_username` VARCHAR(64) NOT NULL,
    `watcher_domain` VARCHAR(64) NOT NULL,
    `to_user` VARCHAR(64) NOT NULL,
    `to_domain` VARCHAR(64) NOT NULL,
    `event` VARCHAR(64) DEFAULT 'presence' NOT NULL,
    `event_id` VARCHAR(64),
    `to_tag` VARCHAR(128) NOT NULL,
    `from_tag` VARCHAR(128) NOT NULL,
    `callid` VARCHAR(255) NOT NULL,
    `local_cseq` INT(11) NOT NULL,
    `remote_cseq` INT(11) NOT NULL,
    `contact` VARCHAR(255) NOT NULL,
    `record_route` TEXT,
    `expires` INT(11) NOT NULL,
    `status` INT(11) DEFAULT 2 NOT NULL,
    `reason` VARCHAR(64),
    `version` INT(11) DEFAULT 0 NOT NULL,
    `socket_info` VARCHAR(64) NOT NULL,
    `local_contact` VARCHAR(255) NOT NULL,
    `from_user` VARCHAR(64) NOT NULL,
    `from_domain` VARCHAR(64) NOT NULL,
    `updated` INT(11) NOT NULL,
    `updated_winfo` INT(11) NOT NULL,
    `flags` INT(11) DEFAULT 0 NOT NULL,
    `user_agent` VARCHAR(255) DEFAULT '',
    CONSTRAINT active_watchers_idx UNIQUE (`callid`, `to_tag`, `from_tag`),
    INDEX active_watchers_expires (`expires`),
    INDEX active_watchers_pres (`presentity_uri`, `event`),
    INDEX updated_idx (`updated`),
    INDEX updated_winfo_idx (`updated_winfo`, `presentity_uri`)
) ENGINE=InnoDB;
INSERT IGNORE INTO version (table_name, table_version) values ('active_watchers','12');

CREATE TABLE IF NOT EXISTS `watchers` (
    `id` INT(10) UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL,
    `presentity_uri` VARCHAR(255) NOT NULL,
    `watcher_username` VARCHAR(64) NOT NULL,
    `watcher_domain` VARCHAR(64) NOT NULL,
    `event` VARCHAR(64) DEFAULT 'presence' NOT NULL,
    `status` INT(11) NOT NULL,
    `reason` VARCHAR(64),
    `inserted_time` INT(11) NOT NULL,
    CONSTRAINT watcher_idx UNIQUE (`presentity_uri`, `watcher_username`, `watcher_domain`, `event`)
) ENGINE=InnoDB;
INSERT IGNORE INTO version (table_name, table_version) values ('watchers','3');

CREATE TABLE IF NOT EXISTS `xcap` (
    `id` INT(10) UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL,
    `username` VARCHAR(64) NOT NULL,
    `domain` VARCHAR(64) NOT NULL,
    `doc` MEDIUMBLOB NOT NULL,
    `doc_type` INT(11) NOT NULL,
    `etag` VARCHAR(128) NOT NULL,
    `source` INT(11) NOT NULL,
    `doc_uri` VARCHAR(255) NOT NULL,
    `port` INT(11) NOT NULL,
    CONSTRAINT doc_uri_idx UNIQUE (`doc_uri`),
    INDEX account_doc_type_idx (`username`, `domain`, `doc_type`),
    INDEX account_doc_type_uri_idx (`username`, `domain`, `doc_type`, `doc_uri`),
    INDEX account_doc_uri_idx (`username`, `domain`, `doc_uri`)
) ENGINE=InnoDB;
INSERT IGNORE INTO version (table_name, table_version) values ('xcap','4');
