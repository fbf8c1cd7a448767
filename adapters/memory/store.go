package memory

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// Store is an in-memory connection store keyed like the DynamoDB table: by user, then
// connection. Its scan walks connections in key order, so a cursor stays valid while
// connections come and go.
type Store struct {
	pageSize int
	now      func() time.Time

	mu     sync.RWMutex
	sorted []handlers.Connection // by (UserID, ConnectionID)
}

// NewStore returns an empty store whose scans return pages of up to pageSize
// connections (100 when pageSize is not positive).
func NewStore(pageSize int) *Store {
	if pageSize <= 0 {
		pageSize = 100
	}
	return &Store{pageSize: pageSize, now: time.Now}
}

func compare(a, b handlers.Connection) int {
	if c := strings.Compare(a.UserID, b.UserID); c != 0 {
		return c
	}
	return strings.Compare(a.ConnectionID, b.ConnectionID)
}

// AddConnection stores c with the time it connected: its ConnectedAt, or now, to the
// second, as the DynamoDB store writes it. Storing it again replaces it.
func (s *Store) AddConnection(_ context.Context, c handlers.Connection) error {
	if c.ConnectedAt.IsZero() {
		c.ConnectedAt = time.Unix(s.now().Unix(), 0)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, found := slices.BinarySearchFunc(s.sorted, c, compare); found {
		s.sorted[i] = c
	} else {
		s.sorted = slices.Insert(s.sorted, i, c)
	}
	return nil
}

// RemoveConnection deletes c if it is stored.
func (s *Store) RemoveConnection(ctx context.Context, c handlers.Connection) error {
	return s.DeleteConnections(ctx, []handlers.Connection{c})
}

// DeleteConnections deletes each of conns that is stored.
func (s *Store) DeleteConnections(_ context.Context, conns []handlers.Connection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range conns {
		if i, found := slices.BinarySearchFunc(s.sorted, c, compare); found {
			s.sorted = slices.Delete(s.sorted, i, i+1)
		}
	}
	return nil
}

// PruneConnections deletes each of conns that was stored before storedBefore, by the
// time the store holds, whatever the caller's ConnectedAt; it keeps the younger ones,
// which may still be in $connect (see handlers.ConnectionDeleter).
func (s *Store) PruneConnections(_ context.Context, conns []handlers.Connection, storedBefore time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range conns {
		i, found := slices.BinarySearchFunc(s.sorted, c, compare)
		if found && s.sorted[i].ConnectedAt.Before(storedBefore) {
			s.sorted = slices.Delete(s.sorted, i, i+1)
		}
	}
	return nil
}

// UserConnections returns the connections of one user.
func (s *Store) UserConnections(_ context.Context, userID string) ([]handlers.Connection, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	from, _ := slices.BinarySearchFunc(s.sorted, handlers.Connection{UserID: userID}, compare)
	to := from
	for to < len(s.sorted) && s.sorted[to].UserID == userID {
		to++
	}
	return slices.Clone(s.sorted[from:to]), nil
}

// Len returns how many connections are stored.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.sorted)
}

// ScanConnections walks every connection a page at a time. The cursor is the key of
// the last connection of the previous page.
func (s *Store) ScanConnections(ctx context.Context, cursor string, page func([]handlers.Connection, string) error) error {
	after, hasCursor := handlers.CursorConnection(cursor)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		conns := s.pageAfter(after, hasCursor)
		if len(conns) == 0 {
			return nil
		}
		after, hasCursor = conns[len(conns)-1], true
		next := after.Cursor()
		if len(conns) < s.pageSize {
			next = ""
		}
		if err := page(conns, next); err != nil {
			return err
		}
		if next == "" {
			return nil
		}
	}
}

func (s *Store) pageAfter(after handlers.Connection, hasCursor bool) []handlers.Connection {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i := 0
	if hasCursor {
		var found bool
		if i, found = slices.BinarySearchFunc(s.sorted, after, compare); found {
			i++
		}
	}
	return slices.Clone(s.sorted[i:min(i+s.pageSize, len(s.sorted))])
}
