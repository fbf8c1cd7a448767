package handlers

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
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
// cursor. A multicast looks up each of its users, then streams the subscribers of its
// topics merged by connection id (less the excluded users, and each connection once,
// across retries too: see topics); a broadcast or an exclusion streams the whole store,
// so memory stays flat however many there are; a segment task streams its segment of
// the store (see SegmentScanner).
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
// topics. Its cursor is the users' (see users) until their last page, then a topic
// cursor (see topics).
func (r Resolver) multicast(ctx context.Context, req Request, cursor string, emit EmitFunc) error {
	after, resuming := decodeTopicCursor(cursor)
	if !resuming {
		if err := r.users(ctx, req, cursor, emit); err != nil {
			return err
		}
	}
	return r.topics(ctx, req, after, emit)
}

// topics emits the union of the subscribers of req.Topics whose connection ids come
// after after ("" from the first), each connection once, in pages of PageSize in
// connection id order, less the connections of the request's users (emitted with them)
// and of its excluded users (by the user a subscription holds: a connection is left out
// if any of its subscriptions to the topics names one).
//
// It is a k-way merge on the connection id: every topic is read side by side, a page at
// a time, in connection id order (see TopicLister), and the smallest id at the head of
// the topics is taken next, once however many of them hold it. So one position says
// what is done, the last id taken, and a page's cursor names it (see encodeTopicCursor).
// A retry resumes every topic after that id. Across runs each connection is emitted
// once, and none is missed that followed a topic when the request was first taken and
// still does; one that follows a topic only since is reached if its id comes after the
// cursor. Memory holds one page per topic and the page being filled.
//
// What a retry reads: each topic after the cursor, none of it before. Both runs together
// read, beyond what one run reads, only what the failed run had read past its last
// cursor: in each topic, the rest of the store's page it stood in; more only when the
// store's pages are smaller than PageSize and the page that failed to go out (or the
// connections passed over since the last) spans several of them (DynamoDB's pages are
// 500 to the resolve stage's 100 by default). Measured on a memory store
// (TestResolveTopicsRetryReads): three topics of 200 subscribers that overlap, 300
// connections, in pages of 10, which one run reads as 600 subscriptions. Failed at the
// 26th page of 30, the retry reads the 50 after its cursor; failed at the 15th, the 330
// after it. (The resolution that rebuilt "already sent" from the earlier topics read 400
// and 460 in these retries, and sent 50 and 90 connections twice.)
func (r Resolver) topics(ctx context.Context, req Request, after string, emit EmitFunc) error {
	if len(req.Topics) == 0 {
		return nil
	}
	lister, ok := r.Store.(TopicLister)
	if !ok {
		return Permanent(fmt.Errorf("resolve topics: %w", ErrNoTopics))
	}
	merge := newTopicMerge(lister, req.Topics, after, lo.Keyify(append(slices.Clone(req.Users), req.ExcludeUsers...)))
	// A page of a merge comes through several topics; it names its topic only when the
	// request names one, so that no connection is counted or replayed under a topic it
	// does not follow.
	topic := ""
	if len(req.Topics) == 1 {
		topic = req.Topics[0]
	}
	size := orDefault(r.PageSize, 100)
	page := make([]Connection, 0, size)
	flush := func() error {
		if len(page) == 0 {
			return nil
		}
		// Every id up to the last taken is done, those passed over too.
		err := emit(Recipients{Data: req.Data, Connections: page, Topic: topic}, encodeTopicCursor(merge.last))
		page = make([]Connection, 0, size)
		return err
	}
	for {
		c, take, ok, err := merge.next(ctx)
		if err != nil {
			if ferr := flush(); ferr != nil {
				return ferr
			}
			return err
		}
		if !ok {
			return flush()
		}
		if take {
			if page = append(page, c); len(page) == size {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
}

// topicMerge merges the subscribers of topics by connection id.
type topicMerge struct {
	heads []*topicHead
	// skip holds the users whose connections are left out.
	skip map[string]struct{}
	// last is the connection id taken last: every id up to it is done.
	last string
}

func newTopicMerge(lister TopicLister, topics []string, after string, skip map[string]struct{}) *topicMerge {
	m := &topicMerge{heads: make([]*topicHead, len(topics)), skip: skip, last: after}
	for i, topic := range topics {
		m.heads[i] = &topicHead{lister: lister, topic: topic}
	}
	return m
}

// next takes the smallest connection id after last that a topic holds, and returns its
// connection; take is false if one of its subscriptions to the topics names a user of
// skip. A subscription may hold no user where another does (made before its
// connection's user was known): the connection goes with a user when one names it. ok is
// false once no topic holds any more.
func (m *topicMerge) next(ctx context.Context) (c Connection, take, ok bool, err error) {
	id, found := "", false
	for _, h := range m.heads {
		head, ok, err := h.peek(ctx, m.last)
		if err != nil {
			return Connection{}, false, false, err
		}
		if ok && (!found || head.ConnectionID < id) {
			id, found = head.ConnectionID, true
		}
	}
	if !found {
		return Connection{}, false, false, nil
	}
	take = true
	for _, h := range m.heads {
		if h.i == len(h.page) || h.page[h.i].ConnectionID != id {
			continue
		}
		sub := &h.page[h.i]
		h.i++
		if _, ok := m.skip[sub.UserID]; ok {
			take = false
		}
		if c.ConnectionID == "" || c.UserID == "" {
			c = *sub
		}
	}
	m.last = id
	return c, take, true, nil
}

// topicHead is where a merge stands in one topic: at page[i], in the page it read last.
type topicHead struct {
	lister TopicLister
	topic  string
	page   []Connection
	i      int
	// done is set once the store said the page was the topic's last.
	done bool
}

// errPageRead stops a store's read of a topic after the page the merge asked for.
var errPageRead = errors.New("page read")

// peek returns the topic's first connection after the id last, reading the topic's
// page after last when the one it holds is used up; ok is false when the topic has no
// more.
func (h *topicHead) peek(ctx context.Context, last string) (c *Connection, ok bool, err error) {
	h.pass(last)
	if h.i == len(h.page) && !h.done {
		if err := h.read(ctx, last); err != nil {
			return nil, false, err
		}
		h.pass(last)
	}
	if h.i == len(h.page) {
		return nil, false, nil
	}
	return &h.page[h.i], true, nil
}

// pass passes the connections of the page up to the id last, which the merge has
// taken, whatever order a store handed them in: no id is taken twice.
func (h *topicHead) pass(last string) {
	for h.i < len(h.page) && h.page[h.i].ConnectionID <= last {
		h.i++
	}
}

// read reads the topic's page after the id after, one page of the store's.
func (h *topicHead) read(ctx context.Context, after string) error {
	h.page, h.i, h.done = nil, 0, true // unless the store hands a page that may not be the last
	err := h.lister.TopicConnections(ctx, h.topic, after, func(conns []Connection, next string) error {
		h.page, h.done = conns, next == ""
		return errPageRead
	})
	if err != nil && !errors.Is(err, errPageRead) {
		return fmt.Errorf("resolve topic %s: %w", h.topic, err)
	}
	if n := len(h.page); !h.done && (n == 0 || h.page[n-1].ConnectionID <= after) {
		// Read again, it would hand the same page for ever.
		return Permanent(fmt.Errorf("resolve topic %s: the store handed a page that does not end after %q, and more", h.topic, after))
	}
	return nil
}

// A topic cursor says where the merge of a request's topics stands: after the
// connection id it names, in every topic alike. It is "topics:" and the id in
// base64url, so that it holds no NUL, which tells a user cursor (see
// Connection.Cursor), nor a colon.
const topicCursorPrefix = "topics:"

func encodeTopicCursor(after string) string {
	return topicCursorPrefix + base64.RawURLEncoding.EncodeToString([]byte(after))
}

// decodeTopicCursor returns the connection id that cursor resumes the topics after;
// resuming is false if it names none (a user cursor, the start, or not a cursor at all:
// the resolution starts over). A cursor of the earlier form, "topics:<index>:<cursor>",
// which a parked message may carry, resumes the topics from the first: its users are
// done.
func decodeTopicCursor(cursor string) (after string, resuming bool) {
	rest, ok := strings.CutPrefix(cursor, topicCursorPrefix)
	if !ok || strings.ContainsRune(cursor, 0) {
		return "", false
	}
	if strings.ContainsRune(rest, ':') {
		return "", true
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return "", false
	}
	return string(b), true
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
