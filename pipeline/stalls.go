package pipeline

import (
	"strconv"

	"github.com/ThreeDotsLabs/watermill/message"
)

// stalledKey counts the runs in a row that failed without moving a resumable message's
// cursor on.
const stalledKey = "stalled_runs"

// stalledError is the error of a run of a resumable message, with the runs in a row that
// failed without moving its cursor on, this one included.
type stalledError struct {
	runs int
	err  error
}

func (e *stalledError) Error() string { return e.err.Error() }
func (e *stalledError) Unwrap() error { return e.err }

// countStalls bounds the retries of a stage that records its progress in CursorKey, the
// resolve stage, by its runs in a row that moved the cursor no further.
func countStalls(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		before := msg.Metadata.Get(CursorKey)
		out, err := h(msg)
		if err == nil {
			return out, nil
		}
		runs := 0
		if msg.Metadata.Get(CursorKey) == before {
			runs, _ = strconv.Atoi(msg.Metadata.Get(stalledKey))
			runs++
		}
		msg.Metadata.Set(stalledKey, strconv.Itoa(runs))
		return out, &stalledError{runs: runs, err: err}
	}
}
