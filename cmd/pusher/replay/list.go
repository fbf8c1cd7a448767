package replay

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Select returns the parked messages of q that f selects, oldest failure first. It
// changes nothing.
func Select(ctx context.Context, q Queue, f Filter) ([]pipeline.Parked, error) {
	var out []pipeline.Parked
	err := q.List(ctx, 1, func(m *message.Message) error {
		if p := pipeline.ParkedFrom(m); f.Match(p) {
			out = append(out, p)
		}
		return nil
	})
	slices.SortStableFunc(out, func(a, b pipeline.Parked) int { return a.LastFailedAt.Compare(b.LastFailedAt) })
	return out, err
}

// Widths of the reasons of WriteTable, in characters: a reason longer is cut in its
// middle, keeping its start (what failed) and its end (the cause).
const (
	groupReasonWidth   = 120
	messageReasonWidth = 100
)

// WriteTable writes parked as an operator reads it: the counts by reason (connection
// and user ids left out) and stage, most first, then one line per message. A long
// reason is cut in its middle, unless wide: its start says what failed and its end
// why.
func WriteTable(w io.Writer, parked []pipeline.Parked, wide bool) error {
	cut := func(s string, n int) string {
		if wide {
			return oneLine(s, 0)
		}
		return oneLine(s, n)
	}
	type group struct{ reason, stage string }
	counts := map[group]int{}
	for _, p := range parked {
		counts[group{groupReason(p), p.Stage}]++
	}
	groups := make([]group, 0, len(counts))
	for g := range counts {
		groups = append(groups, g)
	}
	slices.SortFunc(groups, func(a, b group) int {
		return cmp.Or(counts[b]-counts[a], cmp.Compare(a.stage, b.stage), cmp.Compare(a.reason, b.reason))
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "COUNT\tSTAGE\tREASON\n")
	for _, g := range groups {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", counts[g], g.stage, cut(g.reason, groupReasonWidth))
	}
	fmt.Fprintf(tw, "%d\ttotal\t\n\n", len(parked))
	fmt.Fprintf(tw, "UUID\tSTAGE\tCLASS\tATTEMPTS\tLAST FAILURE\tUSER\tCONNECTION\tREASON\n")
	for _, p := range parked {
		last := ""
		if !p.LastFailedAt.IsZero() {
			last = p.LastFailedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", p.UUID, p.Stage, p.Class, p.Attempts, last,
			dash(p.UserID), dash(p.ConnectionID), cut(p.Reason, messageReasonWidth))
	}
	return tw.Flush()
}

// WriteJSON writes parked as JSON lines of pipeline.Parked.
func WriteJSON(w io.Writer, parked []pipeline.Parked) error {
	enc := json.NewEncoder(w)
	for _, p := range parked {
		if err := enc.Encode(p); err != nil {
			return err
		}
	}
	return nil
}

// groupReason is p's reason with its connection and user named generically, so that
// the deliveries an outage parked count as one group.
func groupReason(p pipeline.Parked) string {
	r := p.Reason
	if p.ConnectionID != "" {
		r = strings.ReplaceAll(r, p.ConnectionID, "{connection}")
	}
	if p.UserID != "" {
		r = strings.ReplaceAll(r, " of "+p.UserID+":", " of {user}:")
	}
	return r
}

func dash(s string) string { return cmp.Or(s, "-") }

// oneLine puts s on one line of at most n characters (0: any), cutting its middle:
// a reason wraps its cause, "post to X of bob: post: 500 Internal Server Error: ...",
// so both ends matter.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if n <= 0 || len(r) <= n {
		return s
	}
	head := (n - 1) / 3
	tail := n - 1 - head
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}

// Export writes a Record per selected message of q as JSON lines, and returns how many.
// It changes nothing.
func Export(ctx context.Context, q Queue, f Filter, w io.Writer) (int, error) {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	n := 0
	err := q.List(ctx, 1, func(m *message.Message) error {
		if !f.Match(pipeline.ParkedFrom(m)) {
			return nil
		}
		n++
		return enc.Encode(RecordOf(m))
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// Imported counts what an Import did.
type Imported struct {
	// Parked is how many records were parked.
	Parked int `json:"parked"`
	// Duplicates is how many were not, being parked already: a message of the same
	// UUID in the queue, or earlier in the file.
	Duplicates int `json:"duplicates"`
}

// Import parks in q each Record of the JSON lines of r, as Export wrote them, unless a
// message of its UUID is parked already: importing a file twice, or a file that holds
// a message twice, parks it once. A line of `list --json` (a pipeline.Parked) imports
// too, with the metadata it shows. It stops at the first line it cannot read or park:
// the lines before it are parked.
//
// The UUIDs of the queue are read first, with a listing: a message another listing
// holds hidden at that moment (an SQS queue's in-flight messages) is not seen.
func Import(ctx context.Context, q Queue, r io.Reader) (Imported, error) {
	var out Imported
	parked := map[string]bool{}
	err := q.List(ctx, 1, func(m *message.Message) error {
		parked[m.UUID] = true
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("read what is parked: %w", err)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	line := 0
	for sc.Scan() {
		line++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return out, fmt.Errorf("line %d: %w", line, err)
		}
		m, err := rec.Message()
		if err != nil {
			return out, fmt.Errorf("line %d: %w", line, err)
		}
		if parked[m.UUID] {
			out.Duplicates++
			continue
		}
		if err := q.Park(ctx, m); err != nil {
			return out, fmt.Errorf("line %d: %w", line, err)
		}
		parked[m.UUID] = true
		out.Parked++
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("line %d: %w", line+1, err)
	}
	return out, nil
}
