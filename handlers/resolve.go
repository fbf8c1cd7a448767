package handlers

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/samber/lo"
)

// ConnectionLister is what the resolve stage needs of the connection store.
type ConnectionLister interface {
	// UserConnections returns every connection of one user.
	UserConnections(ctx context.Context, userID string) ([]Connection, error)
	// ScanConnections calls page with every connection in the store, one page at a
	// time and never concurrently, starting after cursor ("" starts at the beginning).
	// next resumes the scan after that page; it is "" after the last one. The scan
	// stops at the first error page returns, and returns it.
	ScanConnections(ctx context.Context, cursor string, page func(conns []Connection, next string) error) error
}

// SegmentScanner is what the resolve stage needs of a store to resolve a segment task:
// a sequential scan of one of total disjoint segments, which together hold every
// connection (a Scan's Segment of TotalSegments, on DynamoDB).
type SegmentScanner interface {
	// ScanSegment calls page with every connection of segment (of total), one page at
	// a time and never concurrently, starting after cursor ("" starts at the
	// beginning); next resumes after that page and is "" with the last.
	ScanSegment(ctx context.Context, segment, total int, cursor string, page func(conns []Connection, next string) error) error
}

// ConnectionCounter is what the resolve stage needs of a store to decide whether to
// split a broadcast: about how many connections it holds. An estimate may be off by a
// few percent, or stale; it must be cheap next to the scan it decides on.
type ConnectionCounter interface {
	// EstimateConnections returns about how many connections the store holds.
	EstimateConnections(ctx context.Context) (int, error)
}

// ErrNoSegments is returned, permanent, for a segment task by a store that cannot scan
// a segment.
var ErrNoSegments = errors.New("the store cannot scan a segment")

// EmitFunc receives one page of recipients. next is the cursor that resumes the
// resolution after this page, for a retry that must not emit it twice.
type EmitFunc func(page Recipients, next string) error

// Resolver finds the connections a request targets.
type Resolver struct {
	Store ConnectionLister
	// PageSize bounds the connections of one multicast page; zero means 100.
	PageSize int
	// Concurrency bounds the users looked up at once for a multicast; zero means 16.
	Concurrency int
}

// Resolve calls emit with the connections req targets, a page at a time, starting after
// cursor. A multicast looks up each of its users, then streams the subscribers of each of
// its topics (less the excluded users, and each connection once); a broadcast or an
// exclusion streams the whole store, so memory stays flat however many there are; a
// segment task streams its segment of the store (see SegmentScanner).
func (r Resolver) Resolve(ctx context.Context, req Request, cursor string, emit EmitFunc) error {
	if req.Kind() == Multicast {
		return r.multicast(ctx, req, cursor, emit)
	}
	if req.Segment != nil {
		return r.ResolveSegment(ctx, req, *req.Segment, cursor, emit)
	}
	err := r.Store.ScanConnections(ctx, cursor, r.excluding(req, emit))
	if err != nil {
		return fmt.Errorf("resolve %s: %w", req.Kind(), err)
	}
	return nil
}

// ResolveSegment calls emit with the connections of seg that req, a broadcast or an
// exclusion, targets, a page at a time, starting after cursor: a segment task's
// resolution, whatever req.Segment says.
func (r Resolver) ResolveSegment(ctx context.Context, req Request, seg Segment, cursor string, emit EmitFunc) error {
	scanner, ok := r.Store.(SegmentScanner)
	if !ok {
		return Permanent(fmt.Errorf("resolve %s segment %s: %w", req.Kind(), seg, ErrNoSegments))
	}
	if err := scanner.ScanSegment(ctx, seg.Index, seg.Total, cursor, r.excluding(req, emit)); err != nil {
		return fmt.Errorf("resolve %s segment %s: %w", req.Kind(), seg, err)
	}
	return nil
}

// excluding returns the page function of a scan that emits each page less the
// connections of req's excluded users.
func (r Resolver) excluding(req Request, emit EmitFunc) func(conns []Connection, next string) error {
	excluded := lo.Keyify(req.ExcludeUsers)
	return func(conns []Connection, next string) error {
		if len(excluded) > 0 {
			conns = lo.Reject(conns, func(c Connection, _ int) bool { _, ok := excluded[c.UserID]; return ok })
		}
		if len(conns) == 0 {
			return nil
		}
		return emit(Recipients{Data: req.Data, Connections: conns}, next)
	}
}

// multicast emits the connections of the request's users, then the subscribers of its
// topics. Its cursor is the users' (see users) until their last page, then a topic's.
func (r Resolver) multicast(ctx context.Context, req Request, cursor string, emit EmitFunc) error {
	from, inTopic, resuming := decodeTopicCursor(cursor)
	if !resuming {
		if err := r.users(ctx, req, cursor, emit); err != nil {
			return err
		}
	}
	return r.topics(ctx, req, from, inTopic, emit)
}

// topics streams the subscribers of req.Topics, from the topic numbered from (after
// cursor in it), less the connections of the request's users (emitted with them) and
// of its excluded users. A connection that follows several of the topics is emitted
// once: the resolution remembers the connections it emitted, which a retry rebuilds from
// the topics before the one it resumes (one whose first pages the failed run emitted
// may then be sent to twice).
func (r Resolver) topics(ctx context.Context, req Request, from int, cursor string, emit EmitFunc) error {
	if from >= len(req.Topics) {
		return nil
	}
	lister, ok := r.Store.(TopicLister)
	if !ok {
		return Permanent(fmt.Errorf("resolve topics: %w", ErrNoTopics))
	}
	skip := lo.Keyify(append(slices.Clone(req.Users), req.ExcludeUsers...))
	var seen map[string]struct{}
	if len(req.Topics) > 1 {
		seen = map[string]struct{}{}
		for _, topic := range req.Topics[:from] {
			err := lister.TopicConnections(ctx, topic, "", func(conns []Connection, _ string) error {
				for _, c := range conns {
					seen[c.ConnectionID] = struct{}{}
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("resolve topic %s: %w", topic, err)
			}
		}
	}
	for i := from; i < len(req.Topics); i++ {
		start := ""
		if i == from {
			start = cursor
		}
		err := lister.TopicConnections(ctx, req.Topics[i], start, func(conns []Connection, next string) error {
			page := make([]Connection, 0, len(conns))
			for _, c := range conns {
				if _, ok := skip[c.UserID]; ok {
					continue
				}
				if seen != nil {
					if _, ok := seen[c.ConnectionID]; ok {
						continue
					}
					seen[c.ConnectionID] = struct{}{}
				}
				page = append(page, c)
			}
			if len(page) == 0 {
				return nil
			}
			return emit(Recipients{Data: req.Data, Connections: page, Topic: req.Topics[i]}, encodeTopicCursor(i, next))
		})
		if err != nil {
			return fmt.Errorf("resolve topic %s: %w", req.Topics[i], err)
		}
	}
	return nil
}

// A topic cursor names the topic a resolution resumes in, by its index in the request,
// and the store's cursor in it (base64, so that it holds no NUL, which tells a user
// cursor): "topics:2:<cursor>". After a topic's last page it names the next topic.
const topicCursorPrefix = "topics:"

func encodeTopicCursor(i int, next string) string {
	if next == "" {
		i++
	}
	return topicCursorPrefix + strconv.Itoa(i) + ":" + base64.RawURLEncoding.EncodeToString([]byte(next))
}

// decodeTopicCursor returns the topic and the store's cursor in it that cursor names,
// resuming false if it names none (a user cursor, or the start).
func decodeTopicCursor(cursor string) (from int, inTopic string, resuming bool) {
	rest, ok := strings.CutPrefix(cursor, topicCursorPrefix)
	if !ok || strings.ContainsRune(cursor, 0) {
		return 0, "", false
	}
	index, encoded, _ := strings.Cut(rest, ":")
	i, err := strconv.Atoi(index)
	b, berr := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil || berr != nil || i < 0 {
		return 0, "", false
	}
	return i, string(b), true
}

// users looks the users up concurrently and emits their connections in pages, in
// the order of the request's users and of their connection ids, as soon as a user and
// those before it are found. A lookup that fails ends the resolution after the pages of
// the users before it, so a retry, which resumes after the last connection emitted,
// looks up only the users from that one on; the order stays right when a connection
// comes or goes in between.
func (r Resolver) users(ctx context.Context, req Request, cursor string, emit EmitFunc) error {
	users := lo.Without(req.Users, req.ExcludeUsers...)
	last, resuming := CursorConnection(cursor)
	if resuming {
		// A cursor names a user of the request; were it not to, starting over sends
		// again rather than skip.
		i := slices.Index(users, last.UserID)
		resuming = i >= 0
		users = users[max(i, 0):]
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	found := r.lookUp(ctx, users)
	size := orDefault(r.PageSize, 100)
	page := make([]Connection, 0, size)
	flush := func() error {
		if len(page) == 0 {
			return nil
		}
		err := emit(Recipients{Data: req.Data, Connections: page}, page[len(page)-1].Cursor())
		page = make([]Connection, 0, size)
		return err
	}
	for i, user := range users {
		var l lookup
		select {
		case l = <-found[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if l.err != nil {
			if err := flush(); err != nil {
				return err
			}
			return fmt.Errorf("resolve %s: %w", user, l.err)
		}
		for _, c := range l.conns {
			if resuming && i == 0 && c.ConnectionID <= last.ConnectionID {
				continue // emitted before the retry
			}
			if page = append(page, c); len(page) == size {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// lookup is what the store answered for one user.
type lookup struct {
	conns []Connection
	err   error
}

// lookUp looks users up, Concurrency at a time, until ctx is done; the i-th channel
// receives the answer for users[i], its connections sorted by id.
func (r Resolver) lookUp(ctx context.Context, users []string) []chan lookup {
	found := make([]chan lookup, len(users))
	for i := range found {
		found[i] = make(chan lookup, 1)
	}
	slots := make(chan struct{}, orDefault(r.Concurrency, 16))
	go func() {
		for i, user := range users {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func() {
				defer func() { <-slots }()
				conns, err := r.Store.UserConnections(ctx, user)
				slices.SortFunc(conns, func(a, b Connection) int { return strings.Compare(a.ConnectionID, b.ConnectionID) })
				found[i] <- lookup{conns: conns, err: err}
			}()
		}
	}()
	return found
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}
