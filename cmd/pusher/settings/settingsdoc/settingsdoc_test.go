package settingsdoc_test

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings/settingsdoc"
)

// doc is a guide of the form of docs/settings.md: text, the table, text.
const doc = `# Settings

| variable | flag | commands | default | meaning |
|---|---|---|---|---|
| ` + "`NAME`" + ` | ` + "`--name`" + ` | one, two | ` + "`a`" + ` | a name |
| ` + "`WAIT`" + ` | ` + "`--wait`" + ` | one | ` + "`2s`" + ` | a wait |
| — | ` + "`--list`" + ` | two | ` + "`x, y`" + ` | a list |
| ` + "`ROLE`" + ` | — | other | ` + "`p`" + ` | read elsewhere |
| ` + "`RATE`" + ` | ` + "`--rate`" + ` | one | ` + "`0.5`" + ` | a rate |

More text.
`

func write(t *testing.T, text string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "settings.md")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestRead(t *testing.T) {
	table, err := settingsdoc.Read(write(t, doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(table.Rows) != 5 {
		t.Fatalf("%d rows, want 5: %+v", len(table.Rows), table.Rows)
	}
	got := table.Rows[2]
	if got.Line != 7 || got.Variable != "" || got.Flag != "--list" || got.Default != "x, y" || strings.Join(got.Commands, "+") != "two" {
		t.Errorf("row 3 = %+v", got)
	}
	if _, err := settingsdoc.Read(write(t, "# Settings\n\nNo table.\n")); err == nil {
		t.Error("a file without the table: no error")
	}
}

// sets returns the flag sets of commands one and two as settings.Flags defines them,
// with wait's default and whether two's name reads a variable; one's rate defaults to
// 0.5, as documented.
func sets(wait time.Duration, nameVar string) map[string][]*flag.FlagSet {
	return setsRate(wait, nameVar, 0.5)
}

// setsRate is sets with one's rate defaulting to rate.
func setsRate(wait time.Duration, nameVar string, rate float64) map[string][]*flag.FlagSet {
	none := func(string) (string, bool) { return "", false }
	one := settings.New("one", io.Discard, none)
	var name, name2 string
	var d time.Duration
	var list []string
	var r float64
	one.String(&name, "name", "NAME", "a", "")
	one.Duration(&d, "wait", "WAIT", wait, "")
	one.Float(&r, "rate", "RATE", rate, "")
	two := settings.New("two", io.Discard, none)
	two.String(&name2, "name", nameVar, "a", "")
	two.StringList(&list, "list", "", []string{"x", "y"}, "")
	return map[string][]*flag.FlagSet{"one": {one.FlagSet}, "two": {two.FlagSet}}
}

func TestCheck(t *testing.T) {
	table, err := settingsdoc.Read(write(t, doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		sets      map[string][]*flag.FlagSet
		elsewhere []string
		want      []string // a part of each error, in order
	}{
		{name: "as documented", sets: sets(2*time.Second, "NAME"), elsewhere: []string{"other"}},
		{name: "another default", sets: sets(time.Second, "NAME"), elsewhere: []string{"other"},
			want: []string{"settings.md:6 (WAIT --wait): --wait of one: default 1s, the table says 2s"}},
		{name: "another rate", sets: setsRate(2*time.Second, "NAME", 2), elsewhere: []string{"other"},
			want: []string{"settings.md:9 (RATE --rate): --rate of one: default 2, the table says 0.5"}},
		{name: "another variable", sets: sets(2*time.Second, "OTHER_NAME"), elsewhere: []string{"other"},
			want: []string{`--name of two reads "OTHER_NAME", not "NAME"`}},
		{name: "a setting without a row", sets: func() map[string][]*flag.FlagSet {
			s := sets(2*time.Second, "NAME")
			var v int
			fs := settings.New("one", io.Discard, func(string) (string, bool) { return "", false })
			fs.Int(&v, "count", "COUNT", 3, "")
			s["one"] = append(s["one"], fs.FlagSet)
			return s
		}(), elsewhere: []string{"other"}, want: []string{"no row of COUNT (--count) for one"}},
		{name: "a command of neither", sets: sets(2*time.Second, "NAME"),
			want: []string{`settings.md:8 (ROLE —): command "other" is none of one, two`}},
		{name: "a row without a flag", sets: func() map[string][]*flag.FlagSet {
			s := sets(2*time.Second, "NAME")
			s["other"] = nil
			return s
		}(), want: []string{"no flag, but other reads it"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := table.Check(tc.sets, tc.elsewhere...)
			if len(errs) != len(tc.want) {
				t.Fatalf("errors %v, want %d", errs, len(tc.want))
			}
			for i, err := range errs {
				if !strings.Contains(err.Error(), tc.want[i]) {
					t.Errorf("error %d = %q, want it to say %q", i, err, tc.want[i])
				}
			}
		})
	}
}
