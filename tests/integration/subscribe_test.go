//go:build integration

package integration

import (
	"testing"
	"time"
)

// Steps 6 to 8: subscribe, refresh and un-subscribe one dialog, with the published state
// in the first NOTIFYs.
func TestSubscribeLifecycle(t *testing.T) {
	eachTarget(t, func(t *testing.T, k *kamailio) {
		k.runSipp(t, "publish_initial", "note", "subscribe-me")
		k.runSipp(t, "subscribe_lifecycle", "note", "subscribe-me")
		k.waitQuery(t, "SELECT count(*) FROM active_watchers", "0", dbWait)
	})
}

// Step 9: a subscribed watcher is notified when another party modifies and removes the
// publication, and its subscription is stored while it lasts.
func TestWatcherNotifiedOfPublish(t *testing.T) {
	eachTarget(t, func(t *testing.T, k *kamailio) {
		etag := k.runSipp(t, "publish_initial", "note", "first")["etag"]
		watcher := k.startSipp(t, "watch_presence", "note1", "first", "note2", "second")
		watcher.waitVar(t, "subscribed", 10*time.Second)
		k.waitQuery(t, "SELECT presentity_uri||' '||event||' '||watcher_username||' '||status "+
			"FROM active_watchers", "sip:alice@127.0.0.1 presence watcher 1", dbWait)

		k.runSipp(t, "publish_modify_remove", "etag", etag, "note", "second")
		watcher.wait(t)
		k.waitQuery(t, "SELECT count(*) FROM active_watchers", "0", dbWait)
		k.waitQuery(t, "SELECT count(*) FROM presentity", "0", dbWait)
	})
}
