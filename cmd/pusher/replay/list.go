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

// WriteTable writes parked as an operator reads it: the counts by reason (connection
// and user ids left out) and stage, most first, then one line per message.
func WriteTable(w io.Writer, parked []pipeline.Parked) error {
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
		fmt.Fprintf(tw, "%d\t%s\t%s\n", counts[g], g.stage, oneLine(g.reason, 100))
	}
	fmt.Fprintf(tw, "%d\ttotal\t\n\n", len(parked))
	fmt.Fprintf(tw, "UUID\tSTAGE\tCLASS\tATTEMPTS\tLAST FAILURE\tUSER\tCONNECTION\tREASON\n")
	for _, p := range parked {
		last := ""
		if !p.LastFailedAt.IsZero() {
			last = p.LastFailedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", p.UUID, p.Stage, p.Class, p.Attempts, last,
			dash(p.UserID), dash(p.ConnectionID), oneLine(p.Reason, 80))
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

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
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

// Import parks in q each Record of the JSON lines of r, as Export wrote them, and
// returns how many. A line of `list --json` (a pipeline.Parked) imports too, with the
// metadata it shows. It stops at the first line it cannot read or park: the lines
// before it are parked.
func Import(ctx context.Context, q Queue, r io.Reader) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	n, line := 0, 0
	for sc.Scan() {
		line++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return n, fmt.Errorf("line %d: %w", line, err)
		}
		m, err := rec.Message()
		if err != nil {
			return n, fmt.Errorf("line %d: %w", line, err)
		}
		if err := q.Park(ctx, m); err != nil {
			return n, fmt.Errorf("line %d: %w", line, err)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("line %d: %w", line+1, err)
	}
	return n, nil
}
