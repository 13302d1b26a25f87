package harness

import (
	"bytes"
	_ "embed"
	"fmt"
	"slices"
	"sort"
	"strings"
	"text/template"
)

// StockModuleDir holds Debian's Kamailio modules, the stock presence module among them.
const StockModuleDir = "/usr/lib/x86_64-linux-gnu/kamailio/modules"

// Targets: Kamailio with Debian's presence module, with ours, or with none (Floor: PUBLISH and
// SUBSCRIBE answered 200 by sl_send_reply, the bench's measure of Kamailio's own cost).
const (
	Stock = "stock"
	Ours  = "ours"
	Floor = "floor"
)

//go:embed kamailio.cfg.tmpl
var cfgTemplate string

var cfgTmpl = template.Must(template.New("kamailio.cfg").Parse(cfgTemplate))

// Cfg is what one Kamailio's cfg (kamailio.cfg.tmpl) may change.
type Cfg struct {
	Target   string // Stock, Ours or Floor
	Port     int    // udp (and tcp, with TCP) on 127.0.0.1
	Dir      string // absolute; the DB is <Dir>/presence.db unless DBURL says otherwise
	DBURL    string // "": sqlite:///<Dir>/presence.db; mysql://...: db_mysql is loaded too
	OursDir  string // the directory of our presence.so (target Ours)
	Children int    // 0: 2
	Debug    int    // Kamailio's debug level
	TCP      bool   // listen on tcp:127.0.0.1:<Port> too

	// ModParams are modparam lines added after the presence module's db_url (see ModParams);
	// the floor, which loads no presence module, leaves them out.
	ModParams []string

	// Screening puts kamailio-cfg/kamailio.cfg's checks in front of the presence calls, as the
	// bench measures it: maxfwd, sanity, in-dialog requests to tm, the transaction released
	// after handle_*(). Off (the integration suite), every PUBLISH and SUBSCRIBE reaches the
	// presence module as sent, malformed ones included.
	Screening bool

	// FloorNotify (target Floor, with "uac" in Modules): each SUBSCRIBE's 200 is followed by a
	// NOTIFY sent through tm (uac_req_send), so the floor holds tm's own cost of a NOTIFY and of
	// its 200 as well, the part of a presence module's work that is Kamailio's (bench: the
	// "floor with NOTIFY" row; scenario subscribe_cycle_floor_notify.xml).
	FloorNotify bool

	// Companions are Debian's modules loaded after presence (presence_mwi, presence_dialoginfo,
	// ...): with ours they bind to our presence.so through bind_presence.
	Companions []string

	// Script variants: handle_publish("$hdr(X-Sender)") / handle_subscribe("$hdr(X-Watcher)")
	// when the request has that header, the plain call otherwise.
	PublishSender, SubscribeWatcher bool

	// LogReturnCode logs "handle_publish returned N" / "handle_subscribe returned N" (N the
	// function's return code, $rc) after the plain calls, for the tests of those codes.
	LogReturnCode bool

	// Ctl loads the ctl module with its binrpc socket at CtlSocket, for kamcmd.
	Ctl bool

	// APITestDir, when set, loads the test-only module presence_apitest.so from there (after
	// the companions): a request with an X-Apitest header is answered 200 with the result of
	// apitest("$hdr(X-Apitest)"), a call of bind_presence's API, in an X-Result header.
	APITestDir string

	// RLSBackEnd (with the rls companion): rls's back-end SUBSCRIBEs to the list members go to
	// this instance (rls's outbound_proxy), whose presence module serves them, and their NOTIFYs
	// come back to rls_handle_notify.
	RLSBackEnd bool

	// Globals are core parameter lines (tcp_accept_no_cl=yes, ...); Modules more of Debian's
	// modules, loaded before presence (kex, xhttp, xhttp_prom, ...).
	Globals string
	Modules []string
	// Script is cfg statements run first in request_route (a test's own methods, e.g. MESSAGE
	// calling presence functions); AfterSubscribe runs after the plain handle_subscribe();
	// Routes is cfg text after request_route (event_route blocks, more routes).
	Script, AfterSubscribe, Routes string
	// KEMI runs request_route in a KEMI script instead: the engine's module (app_jsdt, app_lua,
	// ...) loads KEMIScript, and cfgengine names it (jsdt, lua, ...).
	KEMI, KEMIModule, KEMIScript string
}

// CtlSocket is the ctl module's unix socket (kamcmd -s unix:<CtlSocket>), with Ctl.
func (c Cfg) CtlSocket() string { return c.Dir + "/kamailio_ctl" }

// DBPath is the SQLite file of the default DBURL.
func (c Cfg) DBPath() string { return c.Dir + "/presence.db" }

// Render returns the cfg text.
func (c Cfg) Render() ([]byte, error) {
	if c.Target != Stock && c.Target != Ours && c.Target != Floor {
		return nil, fmt.Errorf("kamailio cfg: unknown target %q (stock, ours, floor)", c.Target)
	}
	if c.Target == Ours && c.OursDir == "" {
		return nil, fmt.Errorf("kamailio cfg: target ours needs the directory of our presence.so")
	}
	if c.DBURL == "" {
		// Dir is absolute, so the URL has four slashes: Kamailio's absolute path.
		c.DBURL = "sqlite:///" + c.DBPath()
	}
	if c.Children == 0 {
		c.Children = 2
	}
	var buf bytes.Buffer
	err := cfgTmpl.Execute(&buf, map[string]any{"C": c, "StockDir": StockModuleDir,
		"Stock": c.Target == Stock, "Floor": c.Target == Floor,
		// presence_xml: stock's always (presence serves no event without it), ours when asked
		"XML": c.Target == Stock || slices.Contains(c.Companions, "presence_xml"),
		// db_mysql for the stock modules on a mysql:// db_url (ours has its own driver)
		"MySQL":   strings.HasPrefix(c.DBURL, "mysql://"),
		"PuaJSON": slices.Contains(c.Companions, "pua_json"),
		// rls: SUBSCRIBEs go to rls_handle_subscribe first
		"RLS": slices.Contains(c.Companions, "rls")})
	return buf.Bytes(), err
}

// ModParams renders modparam lines in name order; string values are quoted.
func ModParams(module string, params map[string]any) []string {
	var lines []string
	for name, v := range params {
		if s, ok := v.(string); ok {
			v = fmt.Sprintf("%q", s)
		}
		lines = append(lines, fmt.Sprintf("modparam(%q, %q, %v)", module, name, v))
	}
	sort.Strings(lines)
	return lines
}
