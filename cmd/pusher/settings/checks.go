package settings

import (
	"fmt"
	"strconv"
)

// StartupChecks defines --startup-checks (STARTUP_CHECKS), on by default: false sets
// *skip, for a team that wants a start-up with no call to AWS (see onaws.Checks). The
// field is a skip so that a configuration built in code, whose zero value has it unset,
// checks too.
func StartupChecks(f *Flags, skip *bool) {
	on := true
	if v := f.env("STARTUP_CHECKS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			f.bad = append(f.bad, fmt.Errorf("STARTUP_CHECKS=%q is not true or false", v))
		}
		on = b
	}
	*skip = !on
	f.Var((*skipValue)(skip), "startup-checks", usage("STARTUP_CHECKS",
		"check at start-up that the credentials, tables, queues and endpoint work, and refuse to start if not (default true)"))
}

// skipValue is a bool flag of the checks that stores whether they are skipped.
type skipValue bool

func (v *skipValue) String() string   { return strconv.FormatBool(!bool(*v)) }
func (v *skipValue) IsBoolFlag() bool { return true }
func (v *skipValue) Get() any         { return !bool(*v) }

func (v *skipValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*v = skipValue(!b)
	return nil
}
