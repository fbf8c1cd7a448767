package pipeline

import (
	"strconv"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// resolveHere resolves the segments st holds here, one after the other, each from its
// cursor, emitting each page with the state that resumes after it. It resolves a split
// with no task queue to put them on (replayed by `pusher replay send`), or whose tasks
// the queue refused for good.
func (p *Pipeline) resolveHere(msg *message.Message, r handlers.Resolver, req handlers.Request, st handlers.SplitState, emit handlers.EmitFunc) error {
	msg.Metadata.Set(CursorKey, st.Cursor())
	for len(st.Pending) > 0 {
		seg := st.Pending[0].From
		err := r.ResolveSegment(msg.Context(), req, handlers.Segment{Index: seg, Total: st.Total}, st.Inner, func(page handlers.Recipients, next string) error {
			after := st.After(next)
			if err := emit(page, after.Cursor()); err != nil {
				return err
			}
			st = after
			return nil
		})
		if err != nil {
			return err
		}
		if len(st.Pending) > 0 && st.Pending[0].From == seg {
			st = st.After("") // the segment ended without a last page
		}
		msg.Metadata.Set(CursorKey, st.Cursor())
	}
	msg.Metadata.Set(splitKey, strconv.Itoa(st.Enqueued))
	return nil
}
