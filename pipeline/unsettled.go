package pipeline

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// maxExamples bounds the errors an UnsettledError keeps: a broadcast to a million
// connections during an outage must not carry a million errors.
const maxExamples = 3

// UnsettledError is the Err of a Result whose request could not be settled: some of
// its messages could neither be done nor parked, or it ran out of time (its deadline
// passed, its caller gave up, the pipeline stopped) with messages still in flight. It
// summarises them: counts by class and the first few errors.
type UnsettledError struct {
	// Unsettled counts the messages that could neither be done nor parked.
	Unsettled int
	// ByClass counts them by the class of their error.
	ByClass map[Class]int
	// Examples are the first few of their errors.
	Examples []error
	// Cause is why the request ended before it settled, nil if it did not.
	Cause error
	// InFlight counts the messages still in flight when it ended; they are left to the
	// redelivery of the request.
	InFlight int
}

// Error summarises the failures in one line.
func (e *UnsettledError) Error() string {
	var b strings.Builder
	if e.Cause != nil {
		fmt.Fprintf(&b, "%v with %d messages in flight", e.Cause, e.InFlight)
	}
	if e.Unsettled > 0 {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		classes := slices.Sorted(maps.Keys(e.ByClass))
		counts := make([]string, len(classes))
		for i, c := range classes {
			counts[i] = fmt.Sprintf("%d %s", e.ByClass[c], c)
		}
		fmt.Fprintf(&b, "%d messages neither done nor parked (%s)", e.Unsettled, strings.Join(counts, ", "))
		for i, err := range e.Examples {
			sep := ", e.g. "
			if i > 0 {
				sep = "; "
			}
			b.WriteString(sep + err.Error())
		}
	}
	return b.String()
}

// Unwrap returns the cause and the examples, for errors.Is and errors.As.
func (e *UnsettledError) Unwrap() []error {
	if e.Cause == nil {
		return e.Examples
	}
	return append([]error{e.Cause}, e.Examples...)
}

// IsUnsettled reports whether err says some work could neither be done nor parked.
func IsUnsettled(err error) bool {
	var u *UnsettledError
	return errors.As(err, &u)
}

// unsettled gathers, in the tracker, the failures of one request.
type unsettled struct {
	count    int
	byClass  map[Class]int
	examples []error
}

func (u *unsettled) add(err error) {
	if u.byClass == nil {
		u.byClass = make(map[Class]int)
	}
	u.count++
	u.byClass[Classify(err)]++
	if len(u.examples) < maxExamples {
		u.examples = append(u.examples, err)
	}
}

func (u *unsettled) err(cause error, inFlight int) *UnsettledError {
	return &UnsettledError{Unsettled: u.count, ByClass: u.byClass, Examples: u.examples, Cause: cause, InFlight: inFlight}
}
