package gopresence

import (
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// tableParam is one line of module/params.def.
type tableParam struct {
	macro, name, dflt, policy string
	min, max                  string
	toEngine                  bool
}

var defLine = regexp.MustCompile(`^(GP_INT|GP_STR|GP_CHARP)\((.*)\)\s*$`)

// splitArgs splits a macro's arguments at commas outside string literals.
func splitArgs(s string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' && (i == 0 || s[i-1] != '\\'):
			quoted = !quoted
			cur.WriteByte(c)
		case c == ',' && !quoted:
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(out, strings.TrimSpace(cur.String()))
}

func readParamTable(t *testing.T) []tableParam {
	t.Helper()
	b, err := os.ReadFile("../module/params.def")
	if err != nil {
		t.Fatal(err)
	}
	var ps []tableParam
	for i, line := range strings.Split(string(b), "\n") {
		m := defLine.FindStringSubmatch(line)
		if m == nil {
			if strings.HasPrefix(line, "GP_") {
				t.Fatalf("params.def:%d: not understood: %s", i+1, line)
			}
			continue
		}
		a := splitArgs(m[2])
		p := tableParam{macro: m[1], name: a[0], dflt: a[1]}
		switch {
		case p.macro == "GP_INT" && len(a) == 7:
			p.min, p.max, p.policy, p.toEngine = a[2], a[3], a[4], a[5] == "1"
		case p.macro != "GP_INT" && len(a) == 5:
			p.policy, p.toEngine = a[2], a[3] == "1"
		default:
			t.Fatalf("params.def:%d: %d arguments: %s", i+1, len(a), line)
		}
		ps = append(ps, p)
	}
	if len(ps) < 40 {
		t.Fatalf("params.def: only %d parameters read", len(ps))
	}
	return ps
}

// The engine's Config is exactly the table's to_engine parameters, with the table's types and
// defaults: a parameter added to the table and forgotten here (or the reverse) fails.
func TestConfigMatchesParamTable(t *testing.T) {
	fields := map[string]reflect.StructField{}
	ct := reflect.TypeOf(Config{})
	for i := 0; i < ct.NumField(); i++ {
		if name := ct.Field(i).Tag.Get("param"); name != "" {
			if _, dup := fields[name]; dup {
				t.Errorf("two Config fields for %q", name)
			}
			fields[name] = ct.Field(i)
		}
	}
	dflt := reflect.ValueOf(DefaultConfig())
	seen := map[string]bool{}
	for _, p := range readParamTable(t) {
		if seen[p.name] {
			t.Errorf("%s twice in params.def", p.name)
		}
		seen[p.name] = true
		f, ok := fields[p.name]
		wantCheck := map[string]string{"GP_SIP_URI": "sip_uri", "GP_TOKEN32": "token32"}[p.policy]
		if wantCheck != "" && !p.toEngine {
			t.Errorf("%s: %s is checked by the engine, which never sees it", p.name, p.policy)
		}
		if ok && f.Tag.Get("check") != wantCheck {
			t.Errorf("%s: Config.%s checks %q, params.def says %s", p.name, f.Name, f.Tag.Get("check"), p.policy)
		}
		if !p.toEngine {
			if ok {
				t.Errorf("%s is not handed to the engine but Config.%s has it", p.name, f.Name)
			}
			continue
		}
		if !ok {
			t.Errorf("%s is handed to the engine but no Config field is tagged param:%q", p.name, p.name)
			continue
		}
		delete(fields, p.name)
		v := dflt.FieldByIndex(f.Index)
		switch p.macro {
		case "GP_INT":
			want, err := strconv.ParseInt(p.dflt, 10, 64)
			if err != nil {
				t.Fatalf("%s: default %q", p.name, p.dflt)
			}
			switch f.Type.Kind() {
			case reflect.Int:
				if v.Int() != want {
					t.Errorf("%s: DefaultConfig %d, params.def %d", p.name, v.Int(), want)
				}
			case reflect.Uint32:
				if p.min == "INT_MIN" || strings.HasPrefix(p.min, "-") {
					t.Errorf("%s: Config.%s is unsigned but params.def lets %s through", p.name, f.Name, p.min)
				}
				if int64(v.Uint()) != want {
					t.Errorf("%s: DefaultConfig %d, params.def %d", p.name, v.Uint(), want)
				}
			default:
				t.Errorf("%s: Config.%s is %s, params.def says int", p.name, f.Name, f.Type)
			}
		default:
			if f.Type.Kind() != reflect.String {
				t.Errorf("%s: Config.%s is %s, params.def says string", p.name, f.Name, f.Type)
				continue
			}
			want := strings.Trim(p.dflt, `"`)
			if p.dflt == "NULL" {
				want = ""
			}
			if v.String() != want {
				t.Errorf("%s: DefaultConfig %q, params.def %q", p.name, v.String(), want)
			}
		}
	}
	for name := range fields {
		t.Errorf("Config field tagged %q has no line in params.def", name)
	}
}

// Every value the module can hand over reaches its field.
func TestParseConfigSetsEveryField(t *testing.T) {
	for _, p := range readParamTable(t) {
		if !p.toEngine {
			continue
		}
		val := "7"
		if p.macro != "GP_INT" {
			val = "x7"
		}
		c, err := ParseConfig(p.name + "=" + val + "\n")
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		if reflect.DeepEqual(c, DefaultConfig()) {
			t.Errorf("%s=%s changed nothing", p.name, val)
		}
	}
	for _, bad := range []string{"no_such_param=1", "max_expires=-1", "clean_period=x", "db_url"} {
		if _, err := ParseConfig(bad + "\n"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// module/README.md documents every parameter, and what a bad value of each becomes.
func TestParamsDocumented(t *testing.T) {
	b, err := os.ReadFile("../module/README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	_, badValues, ok := strings.Cut(doc, "### 2.18 Bad values")
	if !ok {
		t.Fatal("module/README.md has no section \"2.18 Bad values\"")
	}
	badValues, _, _ = strings.Cut(badValues, "\n## ")
	for _, p := range readParamTable(t) {
		if !strings.Contains(doc, "`"+p.name+"`") && !strings.Contains(doc, " "+p.name+" (") {
			t.Errorf("module/README.md does not document %s", p.name)
		}
		if p.policy != "GP_ANY" && p.policy != "GP_FREE" && !strings.Contains(badValues, "`"+p.name+"`") {
			t.Errorf("module/README.md 2.18 does not say what a bad %s becomes", p.name)
		}
	}
}

// The SIP syntax of string parameters, checked at start-up (params.def GP_SIP_URI, GP_TOKEN32).
func TestConfigCheckSyntax(t *testing.T) {
	for _, c := range []struct {
		line string
		ok   bool
	}{
		{"server_address=sip:presence@10.0.0.1:5060", true},
		{"server_address=SIPS:presence@example.com;transport=tls", true},
		{"server_address=", true},
		{"server_address=10.0.0.1:5060", false},
		{"server_address=tel:+123", false},
		{"server_address=<sip:presence@10.0.0.1>", false},
		{"server_address=sip:", false},
		{"server_address=sip:a b@x", false},
		{"to_tag_pref=10", true},
		{"to_tag_pref=", true},
		{"to_tag_pref=a b", false},
		{"to_tag_pref=a;b", false},
		{"to_tag_pref=123456789012345678901234567890123", false},
		{"db_url=", false},
	} {
		cfg, err := ParseConfig("db_url=sqlite:///x.db\n" + c.line + "\n")
		if err != nil {
			t.Fatal(err)
		}
		err = cfg.check()
		if (err == nil) != c.ok {
			t.Errorf("%s: check() = %v", c.line, err)
		}
		name, _, _ := strings.Cut(c.line, "=")
		if err != nil && !strings.Contains(err.Error(), `"`+name+`"`) {
			t.Errorf("%s: the error does not name the parameter: %v", c.line, err)
		}
	}
}
