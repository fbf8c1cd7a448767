package memory

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// Store is an in-memory connection store keyed like the DynamoDB table: by user, then
// connection; a connection without a user is kept under "" (the DynamoDB store needs a
// key of its own for it, this one does not). Its scan walks connections in key order, so a cursor stays valid while
// connections come and go. It keeps subscriptions to topics too (handlers.TopicLister,
// handlers.Subscriptions), forgotten with their connection.
type Store struct {
	pageSize int
	now      func() time.Time

	mu     sync.RWMutex
	sorted []handlers.Connection // by (UserID, ConnectionID)
	// topics holds the subscribers of each topic, sorted by connection id; followed,
	// the topics of each connection.
	topics   map[string][]handlers.Connection
	followed map[string]map[string]struct{}
	// byID is the record of each stored connection by its id alone, as message routes
	// and $disconnect name it.
	byID map[string]handlers.Connection
}

var (
	_ handlers.TopicLister       = (*Store)(nil)
	_ handlers.Subscriptions     = (*Store)(nil)
	_ handlers.SegmentScanner    = (*Store)(nil)
	_ handlers.ConnectionCounter = (*Store)(nil)
)

// NewStore returns an empty store whose scans return pages of up to pageSize
// connections (100 when pageSize is not positive).
func NewStore(pageSize int) *Store {
	if pageSize <= 0 {
		pageSize = 100
	}
	return &Store{pageSize: pageSize, now: time.Now,
		topics: map[string][]handlers.Connection{}, followed: map[string]map[string]struct{}{},
		byID: map[string]handlers.Connection{}}
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
	s.byID[c.ConnectionID] = c
	return nil
}

// RemoveConnection deletes c if it is stored, and its subscriptions; c's user may be
// unknown ("", as on a $disconnect without an authorizer): the store knows it.
func (s *Store) RemoveConnection(ctx context.Context, c handlers.Connection) error {
	return s.DeleteConnections(ctx, []handlers.Connection{c})
}

// DeleteConnections deletes each of conns that is stored.
func (s *Store) DeleteConnections(_ context.Context, conns []handlers.Connection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range conns {
		if stored, ok := s.byID[c.ConnectionID]; ok && c.UserID == "" {
			c = stored
		}
		s.remove(c)
	}
	return nil
}

// remove forgets c, its record and its subscriptions. Call it with mu held.
func (s *Store) remove(c handlers.Connection) {
	if i, found := slices.BinarySearchFunc(s.sorted, c, compare); found {
		s.sorted = slices.Delete(s.sorted, i, i+1)
	}
	if s.byID[c.ConnectionID].UserID == c.UserID {
		delete(s.byID, c.ConnectionID)
	}
	s.unfollowAll(c.ConnectionID)
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
			s.remove(c)
		}
	}
	return nil
}

// Connection returns the stored connection of id.
func (s *Store) Connection(_ context.Context, id string) (handlers.Connection, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.byID[id]
	return c, ok, nil
}

// Subscribe makes c follow topics, with its stored user and time when the store knows
// them, unless it would then follow more than maxTopics.
func (s *Store) Subscribe(_ context.Context, c handlers.Connection, topics []string, maxTopics int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if stored, ok := s.byID[c.ConnectionID]; ok {
		c = stored
	}
	followed := s.followed[c.ConnectionID]
	added := 0
	for _, topic := range slices.Compact(slices.Sorted(slices.Values(topics))) {
		if _, ok := followed[topic]; !ok {
			added++
		}
	}
	if len(followed)+added > maxTopics {
		return handlers.Refuse(handlers.CodeTooManyTopics, "a connection may follow at most %d topics", maxTopics)
	}
	for _, topic := range topics {
		s.follow(c, topic)
	}
	return nil
}

// follow records that c follows topic. Call it with mu held.
func (s *Store) follow(c handlers.Connection, topic string) {
	subs := s.topics[topic]
	if i, found := slices.BinarySearchFunc(subs, c.ConnectionID, byConnectionID); found {
		subs[i] = c
	} else {
		s.topics[topic] = slices.Insert(subs, i, c)
	}
	if s.followed[c.ConnectionID] == nil {
		s.followed[c.ConnectionID] = map[string]struct{}{}
	}
	s.followed[c.ConnectionID][topic] = struct{}{}
}

// Unsubscribe stops c receiving the requests to topic.
func (s *Store) Unsubscribe(_ context.Context, c handlers.Connection, topic string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unfollow(c.ConnectionID, topic)
	return nil
}

// Topics returns the topics c is subscribed to, in order.
func (s *Store) Topics(_ context.Context, c handlers.Connection) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Sorted(maps.Keys(s.followed[c.ConnectionID])), nil
}

// Subscriptions returns how many subscriptions the store holds, all topics together.
func (s *Store) Subscriptions() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, subs := range s.topics {
		n += len(subs)
	}
	return n
}

// unfollow forgets that connection id follows topic. Call it with mu held.
func (s *Store) unfollow(id, topic string) {
	subs := s.topics[topic]
	if i, found := slices.BinarySearchFunc(subs, id, byConnectionID); found {
		subs = slices.Delete(subs, i, i+1)
	}
	if len(subs) == 0 {
		delete(s.topics, topic)
	} else {
		s.topics[topic] = subs
	}
	delete(s.followed[id], topic)
	if len(s.followed[id]) == 0 {
		delete(s.followed, id)
	}
}

// unfollowAll forgets every subscription of connection id. Call it with mu held.
func (s *Store) unfollowAll(id string) {
	for topic := range s.followed[id] {
		s.unfollow(id, topic)
	}
}

// UserConnections returns the connections of one user. Connections without a user
// (UserID "") are no user's, and a reserved id (handlers.ReservedUserPrefix) names none,
// as in the DynamoDB store: both return nothing.
func (s *Store) UserConnections(_ context.Context, userID string) ([]handlers.Connection, error) {
	if userID == "" || handlers.ReservedUser(userID) {
		return nil, nil
	}
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

// EstimateConnections returns how many connections are stored: exactly, at no cost.
func (s *Store) EstimateConnections(context.Context) (int, error) { return s.Len(), nil }

// ScanSegment walks the connections of segment (of total) a page at a time, in key
// order: those whose connection id hashes to segment, modulo total (FNV-1a), so that
// the segments of a total are disjoint and together hold every connection. The cursor
// is the key of the last connection of the previous page, as ScanConnections's.
func (s *Store) ScanSegment(ctx context.Context, segment, total int, cursor string, page func([]handlers.Connection, string) error) error {
	if total < 1 || segment < 0 || segment >= total {
		return handlers.Permanent(fmt.Errorf("scan segment %d of %d: not a segment", segment, total))
	}
	after, hasCursor := handlers.CursorConnection(cursor)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		conns, last, more := s.segmentPageAfter(after, hasCursor, segment, total)
		if len(conns) == 0 {
			return nil
		}
		after, hasCursor = last, true
		next := after.Cursor()
		if !more {
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

// segmentPageAfter returns the next page of up to pageSize connections of segment after
// after, the last connection it read (the page's last), and whether any is left past it.
func (s *Store) segmentPageAfter(after handlers.Connection, hasCursor bool, segment, total int) (page []handlers.Connection, last handlers.Connection, more bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i := s.indexAfter(after, hasCursor); i < len(s.sorted); i++ {
		c := s.sorted[i]
		if SegmentOf(c.ConnectionID, total) != segment {
			continue
		}
		if len(page) == s.pageSize {
			return page, last, true
		}
		page, last = append(page, c), c
	}
	return page, last, false
}

// SegmentOf returns the segment, of total, that the connection id falls in.
func SegmentOf(connectionID string, total int) int {
	h := fnv.New64a()
	_, _ = h.Write([]byte(connectionID)) // a hash.Hash does not fail
	return int(h.Sum64() % uint64(total))
}

func (s *Store) pageAfter(after handlers.Connection, hasCursor bool) []handlers.Connection {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i := s.indexAfter(after, hasCursor)
	return slices.Clone(s.sorted[i:min(i+s.pageSize, len(s.sorted))])
}

// indexAfter returns the index in s.sorted of the first connection after after, or 0
// without a cursor. The caller holds s.mu.
func (s *Store) indexAfter(after handlers.Connection, hasCursor bool) int {
	if !hasCursor {
		return 0
	}
	i, found := slices.BinarySearchFunc(s.sorted, after, compare)
	if found {
		i++
	}
	return i
}
