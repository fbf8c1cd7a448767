package cli

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

// settingsDoc is the guide whose table lists every setting and its default.
const settingsDoc = "../../../docs/settings.md"

// docRow is a row of the table of settingsDoc.
type docRow struct {
	line                int
	variable, flag, def string // "" for —
	commands            []string
}

func (r docRow) String() string {
	return fmt.Sprintf("%s:%d (%s %s)", settingsDoc, r.line, cmpOr(r.variable, "—"), cmpOr(r.flag, "—"))
}

func cmpOr(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// TestSettingsDocMatchesTheFlags reads the table of docs/settings.md and checks each
// row against the flags of the commands it names, as Run defines them with an empty
// environment: the flag exists, reads the row's variable (or none), and has the row's
// default. Each flag that reads a variable has its row: docs and code cannot drift.
func TestSettingsDocMatchesTheFlags(t *testing.T) {
	rows := readSettingsDoc(t)
	sets := commandFlags()
	documented := map[string]bool{} // "command --flag"
	for _, row := range rows {
		for _, cmd := range row.commands {
			switch cmd {
			case "lambda", "authorizer":
				// The function's settings are defined by cmd/pusher-lambda/function
				// (Flags, AuthorizerFlags), which the pusher command does not import: a
				// test there may check these rows.
				continue
			}
			fss, ok := sets[cmd]
			if !ok {
				t.Errorf("%s: command %q is not one of pusher's", row, cmd)
				continue
			}
			if row.flag == "" {
				t.Errorf("%s: no flag, but pusher %s reads it, and its settings are flags", row, cmd)
				continue
			}
			name := strings.TrimPrefix(row.flag, "--")
			key := cmd + " " + row.flag
			if documented[key] {
				t.Errorf("%s: %s is in another row already", row, key)
			}
			documented[key] = true
			found := false
			for _, fs := range fss {
				f := fs.Lookup(name)
				if f == nil {
					continue
				}
				found = true
				if got := flagVariable(f); got != row.variable {
					t.Errorf("%s: %s of %s reads %q, not %q", row, row.flag, fs.Name(), cmpOr(got, "no variable"), cmpOr(row.variable, "no variable"))
				}
				if err := sameDefault(f, row.def); err != nil {
					t.Errorf("%s: %s of %s: %v", row, row.flag, fs.Name(), err)
				}
			}
			if !found {
				t.Errorf("%s: pusher %s has no flag %s", row, cmd, row.flag)
			}
		}
	}
	// The other way: a flag that reads a variable is a setting, and has its row. Flags
	// of one run alone (--users, --reason, --dry-run, ...) are not settings.
	for _, cmd := range slices.Sorted(func(yield func(string) bool) {
		for cmd := range sets {
			if !yield(cmd) {
				return
			}
		}
	}) {
		for _, fs := range sets[cmd] {
			fs.VisitAll(func(f *flag.Flag) {
				if v := flagVariable(f); v != "" && !documented[cmd+" --"+f.Name] {
					t.Errorf("%s: no row of %s (--%s) for %s", settingsDoc, v, f.Name, fs.Name())
				}
			})
		}
	}
}

// commandFlags returns the flag sets of pusher's commands, by the name the table
// uses: those of all its subcommands for replay. Their environment is empty.
func commandFlags() map[string][]*settings.Flags {
	e := env{stdout: io.Discard, stderr: io.Discard, lookup: func(string) (string, bool) { return "", false }}
	sets := map[string][]*settings.Flags{}
	for _, c := range commands() {
		for _, c := range append([]command{c}, c.subcommands...) {
			if c.define != nil {
				fs, _ := c.flags(e)
				name := cmpOr(c.parent, c.name)
				sets[name] = append(sets[name], fs)
			}
		}
	}
	return sets
}

// envInUsage is how settings.Flags names a flag's variable in its usage.
var envInUsage = regexp.MustCompile(`\(env ([A-Z0-9_]+)\)`)

// flagVariable returns the environment variable f defaults to, "" for none.
func flagVariable(f *flag.Flag) string {
	if m := envInUsage.FindStringSubmatch(f.Usage); m != nil {
		return m[1]
	}
	return ""
}

// sameDefault reports how the default of f differs from def, the table's: "" is the
// zero value, a duration is time.ParseDuration's, a list comma-separated.
func sameDefault(f *flag.Flag, def string) error {
	getter, ok := f.Value.(flag.Getter)
	if !ok {
		return fmt.Errorf("its value %T has no Get", f.Value)
	}
	got := getter.Get()
	if def == "" {
		if v := reflect.ValueOf(got); !v.IsZero() && !(v.Kind() == reflect.Slice && v.Len() == 0) {
			return fmt.Errorf("default %v, the table says none", got)
		}
		return nil
	}
	var want any
	var err error
	switch got.(type) {
	case string:
		want = def
	case int:
		want, err = strconv.Atoi(def)
	case bool:
		want, err = strconv.ParseBool(def)
	case time.Duration:
		want, err = time.ParseDuration(def)
	case []string:
		var list []string
		for _, s := range strings.Split(def, ",") {
			list = append(list, strings.TrimSpace(s))
		}
		want = list
	default:
		return fmt.Errorf("default %v of a type (%T) the test does not read", got, got)
	}
	if err != nil {
		return fmt.Errorf("the table's default %q is not a %T: %v", def, got, err)
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("default %v, the table says %v", got, want)
	}
	return nil
}

// readSettingsDoc returns the rows of the table under the header
// | variable | flag | commands | default | meaning |.
func readSettingsDoc(t *testing.T) []docRow {
	t.Helper()
	f, err := os.Open(settingsDoc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const header = "| variable | flag | commands | default | meaning |"
	var rows []docRow
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == header:
			in = true
			continue
		case !in:
			continue
		case !strings.HasPrefix(line, "|"):
			in = false
			continue
		case strings.HasPrefix(line, "|---"):
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 5 {
			t.Fatalf("%s:%d: %d cells, want 5: %s", settingsDoc, n, len(cells), line)
		}
		row := docRow{line: n, variable: docCell(cells[0]), flag: docCell(cells[1]), def: docCell(cells[3])}
		for _, c := range strings.Split(cells[2], ",") {
			row.commands = append(row.commands, strings.TrimSpace(c))
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no table under %q", settingsDoc, header)
	}
	return rows
}

// docCell returns the value of a cell: the text in backticks, "" for —.
func docCell(cell string) string {
	cell = strings.TrimSpace(cell)
	if cell == "—" {
		return ""
	}
	return strings.Trim(cell, "`")
}
