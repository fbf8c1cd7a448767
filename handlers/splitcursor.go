package handlers

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
)

// SplitState is where a broadcast or an exclusion split into segment tasks stands: its
// number of segments, how many of their tasks are on the task queue, the segments still
// to be put on it, and whether those are resolved by the request itself instead, with
// the store's cursor in the first of them. Its Cursor is the resolve cursor that a retry
// or a replay resumes the split from (see ParseSplitCursor).
type SplitState struct {
	// Total is the number of segments the request is split into.
	Total int
	// Enqueued counts the segment tasks already on the queue.
	Enqueued int
	// Pending are the segments still to enqueue, or to resolve here when Here is set,
	// ascending, disjoint and not adjacent.
	Pending []SegmentSpan
	// Here says that Pending are resolved by the request itself, one after the other.
	Here bool
	// Inner is the store's cursor in the first of Pending, while Here.
	Inner string
}

// SegmentSpan is the segments From..To, both included.
type SegmentSpan struct{ From, To int }

// NewSplitState returns the state of a request just split into total segments, none of
// them on the queue yet.
func NewSplitState(total int) SplitState {
	return SplitState{Total: total, Pending: []SegmentSpan{{0, total - 1}}}
}

// PendingSegments returns every segment st holds, in order.
func (st SplitState) PendingSegments() []int {
	var out []int
	for _, s := range st.Pending {
		for i := s.From; i <= s.To; i++ {
			out = append(out, i)
		}
	}
	return out
}

// After returns st once the page of its first segment that ends at inner is emitted: ""
// ends the segment.
func (st SplitState) After(inner string) SplitState {
	st.Pending = slices.Clone(st.Pending)
	st.Inner = inner
	if inner == "" {
		if first := &st.Pending[0]; first.From < first.To {
			first.From++
		} else {
			st.Pending = st.Pending[1:]
		}
	}
	return st
}

// SpansOf returns sorted segments as spans.
func SpansOf(segments []int) []SegmentSpan {
	var out []SegmentSpan
	for _, s := range segments {
		if n := len(out); n > 0 && out[n-1].To == s-1 {
			out[n-1].To = s
		} else {
			out = append(out, SegmentSpan{s, s})
		}
	}
	return out
}

// The cursor of a split request: "split:TOTAL:ENQUEUED:SPANS" while its tasks are put on
// the queue, "split-here:TOTAL:ENQUEUED:SPANS:INNER" while the segments SPANS are
// resolved here, INNER (base64url) being the store's cursor in the first. SPANS are the
// segments still to do, such as "0-4,7,9-12". No cursor of a whole request's
// resolution looks like one: a store's scan cursor is base64url (DynamoDB) or holds a
// NUL (the memory store, see Connection.Cursor), and these hold neither a NUL nor only
// base64url characters.
const (
	splitPrefix     = "split:"
	splitHerePrefix = "split-here:"
)

// Cursor returns the resolve cursor of st, which ParseSplitCursor reads back.
func (st SplitState) Cursor() string {
	var b strings.Builder
	if st.Here {
		b.WriteString(splitHerePrefix)
	} else {
		b.WriteString(splitPrefix)
	}
	b.WriteString(strconv.Itoa(st.Total))
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(st.Enqueued))
	b.WriteByte(':')
	for i, s := range st.Pending {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(s.From))
		if s.To != s.From {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(s.To))
		}
	}
	if st.Here {
		b.WriteByte(':')
		b.WriteString(base64.RawURLEncoding.EncodeToString([]byte(st.Inner)))
	}
	return b.String()
}

// ParseSplitCursor returns the state cursor holds, false if it is not the cursor of a
// split request. It takes only what Cursor writes, since a cursor travels in a
// message's metadata and a parked one can be edited: the state it returns is one a
// split can be in, whose Cursor is cursor again.
func ParseSplitCursor(cursor string) (SplitState, bool) {
	rest, here, ok := cutSplitPrefix(cursor)
	if !ok || strings.ContainsRune(cursor, 0) {
		return SplitState{}, false
	}
	fields := strings.Split(rest, ":")
	if len(fields) != splitCursorFields(here) {
		return SplitState{}, false
	}
	st := SplitState{Here: here}
	var okTotal, okEnqueued bool
	st.Total, okTotal = canonicalInt(fields[0])
	st.Enqueued, okEnqueued = canonicalInt(fields[1])
	if !okTotal || !okEnqueued || !splitCounts(st.Total, st.Enqueued) {
		return SplitState{}, false
	}
	if st.Pending, ok = parseSpans(fields[2], st.Total); !ok || !st.accountsForAll() {
		return SplitState{}, false
	}
	if here {
		if st.Inner, ok = canonicalBase64(fields[3]); !ok || len(st.Pending) == 0 && st.Inner != "" {
			// No segment is left to hold an inner cursor.
			return SplitState{}, false
		}
	}
	return st, true
}

// cutSplitPrefix returns cursor without its split prefix, and here if it is that of a
// split resolved here; ok is false if cursor has no split prefix.
func cutSplitPrefix(cursor string) (rest string, here, ok bool) {
	if rest, ok := strings.CutPrefix(cursor, splitPrefix); ok {
		return rest, false, true
	}
	if rest, ok := strings.CutPrefix(cursor, splitHerePrefix); ok {
		return rest, true, true
	}
	return "", false, false
}

// splitCursorFields returns how many colon-separated fields follow the prefix of a
// split's cursor: TOTAL, ENQUEUED and SPANS, and INNER for one resolved here.
func splitCursorFields(here bool) int {
	if here {
		return 4
	}
	return 3
}

// splitCounts reports whether a split can have total segments, enqueued of whose tasks
// are on the queue: a split makes 2 to MaxSegments tasks (one is not a split).
func splitCounts(total, enqueued int) bool {
	return total >= 2 && total <= MaxSegments && enqueued >= 0 && enqueued <= total
}

// accountsForAll reports whether st's segments on the queue and to do add up: never to
// more than Total, and, until the rest is resolved here, to Total exactly, since until
// then every task of a split is on the queue or to enqueue.
func (st SplitState) accountsForAll() bool {
	left := 0
	for _, s := range st.Pending {
		left += s.To - s.From + 1
	}
	if st.Here {
		return st.Enqueued+left <= st.Total
	}
	return st.Enqueued+left == st.Total
}

// canonicalInt parses s as a number written as strconv.Itoa writes it: no sign, no
// leading zero, so that one state has one cursor.
func canonicalInt(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && s == strconv.Itoa(n)
}

// canonicalBase64 decodes s as base64url written as Cursor writes it. Decoding alone
// skips line breaks and ignores trailing bits: only the encoding of what it decodes to
// is taken.
func canonicalBase64(s string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return string(b), err == nil && base64.RawURLEncoding.EncodeToString(b) == s
}

// parseSpans reads SPANS of segments below total: ascending, disjoint, not adjacent.
func parseSpans(s string, total int) ([]SegmentSpan, bool) {
	if s == "" {
		return nil, true
	}
	var out []SegmentSpan
	last := -2
	for _, part := range strings.Split(s, ",") {
		from, to, isRange := strings.Cut(part, "-")
		a, ok := canonicalInt(from)
		if !ok {
			return nil, false
		}
		b := a
		if isRange {
			if b, ok = canonicalInt(to); !ok || b <= a {
				return nil, false
			}
		}
		if a <= last+1 || b >= total {
			return nil, false
		}
		out = append(out, SegmentSpan{a, b})
		last = b
	}
	return out, true
}
