// Package settingsdoc reads the table of docs/settings.md and checks it against the
// flags that define the settings, so that the guide and the code cannot drift. It is
// for tests: pusher's (cmd/pusher/cli) check the rows of its commands, the function's
// (cmd/pusher-lambda/function) the rows of lambda and authorizer, with the one reading
// of the table.
package settingsdoc

import (
	"bufio"
	"flag"
	"fmt"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Header is the header row of the table.
const Header = "| variable | flag | commands | default | meaning |"

// Row is a row of the table.
type Row struct {
	// Line is the row's line in the file, from 1.
	Line int
	// Variable, Flag and Default are the row's cells without their backticks, "" for —.
	Variable, Flag, Default string
	// Commands are the names of the commands cell: dev, serve, ..., lambda, authorizer.
	Commands []string
}

// Table is the table of a file.
type Table struct {
	// File is the path Read read.
	File string
	// Rows are the table's rows, in the file's order.
	Rows []Row
}

// Read returns the rows of the table under Header in file.
func Read(file string) (Table, error) {
	t := Table{File: file}
	f, err := os.Open(file)
	if err != nil {
		return t, err
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == Header:
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
			return t, fmt.Errorf("%s:%d: %d cells, want 5: %s", file, n, len(cells), line)
		}
		row := Row{Line: n, Variable: cell(cells[0]), Flag: cell(cells[1]), Default: cell(cells[3])}
		for _, c := range strings.Split(cells[2], ",") {
			row.Commands = append(row.Commands, strings.TrimSpace(c))
		}
		t.Rows = append(t.Rows, row)
	}
	if err := sc.Err(); err != nil {
		return t, err
	}
	if len(t.Rows) == 0 {
		return t, fmt.Errorf("%s: no table under %q", file, Header)
	}
	return t, nil
}

// cell returns the value of a cell: the text in backticks, "" for —.
func cell(c string) string {
	c = strings.TrimSpace(c)
	if c == "—" {
		return ""
	}
	return strings.Trim(c, "`")
}

// Check checks each row against the flag sets of the commands it names, sets by the
// name the table uses (several for a command of subcommands): the flag exists, reads
// the row's variable (or none), and has the row's default. Each flag of sets that
// reads a variable has its row. Rows name commands of sets or of elsewhere, whose rows
// another check reads. It returns what differs, in the table's order.
func (t Table) Check(sets map[string][]*flag.FlagSet, elsewhere ...string) []error {
	var errs []error
	documented := map[string]bool{} // "command --flag"
	for _, row := range t.Rows {
		at := t.where(row)
		for _, cmd := range row.Commands {
			if slices.Contains(elsewhere, cmd) {
				continue
			}
			fss, ok := sets[cmd]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: command %q is none of %s", at, cmd, strings.Join(slices.Concat(slices.Sorted(maps.Keys(sets)), elsewhere), ", ")))
				continue
			}
			if row.Flag == "" {
				errs = append(errs, fmt.Errorf("%s: no flag, but %s reads it, and its settings are flags", at, cmd))
				continue
			}
			key := cmd + " " + row.Flag
			if documented[key] {
				errs = append(errs, fmt.Errorf("%s: %s is in another row already", at, key))
			}
			documented[key] = true
			found := false
			for _, fs := range fss {
				f := fs.Lookup(strings.TrimPrefix(row.Flag, "--"))
				if f == nil {
					continue
				}
				found = true
				if got := Variable(f); got != row.Variable {
					errs = append(errs, fmt.Errorf("%s: %s of %s reads %q, not %q", at, row.Flag, fs.Name(), or(got, "no variable"), or(row.Variable, "no variable")))
				}
				if err := SameDefault(f, row.Default); err != nil {
					errs = append(errs, fmt.Errorf("%s: %s of %s: %w", at, row.Flag, fs.Name(), err))
				}
			}
			if !found {
				errs = append(errs, fmt.Errorf("%s: %s has no flag %s", at, cmd, row.Flag))
			}
		}
	}
	// The other way: a flag that reads a variable is a setting, and has its row. Flags
	// of one run alone (--users, --reason, --dry-run, ...) are not settings.
	for _, cmd := range slices.Sorted(maps.Keys(sets)) {
		for _, fs := range sets[cmd] {
			fs.VisitAll(func(f *flag.Flag) {
				if v := Variable(f); v != "" && !documented[cmd+" --"+f.Name] {
					errs = append(errs, fmt.Errorf("%s: no row of %s (--%s) for %s", t.File, v, f.Name, fs.Name()))
				}
			})
		}
	}
	return errs
}

// where names row in messages: its file and line, variable and flag.
func (t Table) where(row Row) string {
	return fmt.Sprintf("%s:%d (%s %s)", t.File, row.Line, or(row.Variable, "—"), or(row.Flag, "—"))
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// envInUsage is how settings.Flags names a flag's variable in its usage.
var envInUsage = regexp.MustCompile(`\(env ([A-Z0-9_]+)\)`)

// Variable returns the environment variable a flag of settings.Flags defaults to, ""
// for none.
func Variable(f *flag.Flag) string {
	if m := envInUsage.FindStringSubmatch(f.Usage); m != nil {
		return m[1]
	}
	return ""
}

// SameDefault reports how the default of f differs from def, the table's: "" is the
// zero value, a number (a whole one, or a rate such as 0.5) strconv's, a duration
// time.ParseDuration's, a list comma-separated.
func SameDefault(f *flag.Flag, def string) error {
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
	case float64:
		want, err = strconv.ParseFloat(def, 64)
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
		return fmt.Errorf("default %v of a type (%T) the check does not read", got, got)
	}
	if err != nil {
		return fmt.Errorf("the table's default %q is not a %T: %w", def, got, err)
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("default %v, the table says %v", got, want)
	}
	return nil
}
