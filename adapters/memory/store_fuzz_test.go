package memory_test

import (
	"cmp"
	"slices"
	"strings"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// FuzzScanCursor scans a store from arbitrary cursors, as a resolve retry or a replay
// hands them over. From any cursor the scan does not panic, pages are 1 to pageSize
// connections, and it visits stored connections in key order, each once, to the end of
// the store; from the cursor of a page it made, it visits exactly what followed it.
//
// conns is a comma-separated list of user/connection.
func FuzzScanCursor(f *testing.F) {
	f.Fuzz(func(t *testing.T, conns, cursor string, pageSize uint8) {
		size := int(pageSize%8) + 1
		s := newStore(t, size, parseStoreConnections(conns)...)
		all := flatten(scan(t, s, "", nil))

		pages := scan(t, s, cursor, nil)
		checkPages(t, cursor, pages, size)
		got := flatten(pages)
		if len(got) > len(all) || !slices.Equal(got, all[len(all)-len(got):]) {
			t.Fatalf("scan from %q visited %q: not the store %q from some point to its end", cursor, got, all)
		}

		pages = scan(t, s, "", nil)
		checkPages(t, "", pages, size)
		for i, p := range pages {
			if p.next == "" {
				continue
			}
			rest := flatten(scan(t, s, p.next, nil))
			if want := flatten(pages[i+1:]); !slices.Equal(rest, want) {
				t.Fatalf("scan from the cursor %q of page %d visited %q, want %q", p.next, i+1, rest, want)
			}
		}
	})
}

// checkPages checks the pages of a scan from cursor: 1 to size connections each, in
// strictly increasing key order, and a cursor on all but a short last page.
func checkPages(t *testing.T, cursor string, pages []page, size int) {
	t.Helper()
	var last *handlers.Connection
	for i, p := range pages {
		if len(p.conns) == 0 || len(p.conns) > size {
			t.Fatalf("scan from %q: page %d has %d connections, want 1 to %d", cursor, i+1, len(p.conns), size)
		}
		if i < len(pages)-1 && p.next == "" {
			t.Fatalf("scan from %q: page %d of %d has no cursor", cursor, i+1, len(pages))
		}
		if i == len(pages)-1 && len(p.conns) < size && p.next != "" {
			t.Fatalf("scan from %q: the short last page has cursor %q", cursor, p.next)
		}
		for _, c := range p.conns {
			if last != nil && keyOrder(*last, c) >= 0 {
				t.Fatalf("scan from %q visited %q after %q", cursor, c, *last)
			}
			last = &c
		}
	}
}

func keyOrder(a, b handlers.Connection) int {
	return cmp.Or(strings.Compare(a.UserID, b.UserID), strings.Compare(a.ConnectionID, b.ConnectionID))
}

// maxStoreConnections bounds a fuzzed store, so that an input scans in microseconds.
const maxStoreConnections = 64

// parseStoreConnections parses a comma-separated list of user/connection. Items
// without both keys are dropped, as the table refuses empty keys, and so are connection
// ids holding a NUL, which API Gateway's (base64) never do.
func parseStoreConnections(s string) []handlers.Connection {
	var out []handlers.Connection
	for item := range strings.SplitSeq(s, ",") {
		user, id, _ := strings.Cut(item, "/")
		if user == "" || id == "" || strings.Contains(id, "\x00") {
			continue
		}
		if out = append(out, conn(user, id)); len(out) == maxStoreConnections {
			break
		}
	}
	return out
}
