package handlers

import (
	"context"
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
// cursor. A multicast looks up each of its users (less the excluded ones); a broadcast or
// an exclusion streams the whole store, so memory stays flat however many there are.
func (r Resolver) Resolve(ctx context.Context, req Request, cursor string, emit EmitFunc) error {
	if req.Kind() == Multicast {
		return r.multicast(ctx, req, cursor, emit)
	}
	excluded := lo.Keyify(req.ExcludeUsers)
	err := r.Store.ScanConnections(ctx, cursor, func(conns []Connection, next string) error {
		if len(excluded) > 0 {
			conns = lo.Reject(conns, func(c Connection, _ int) bool { _, ok := excluded[c.UserID]; return ok })
		}
		if len(conns) == 0 {
			return nil
		}
		return emit(Recipients{Data: req.Data, Connections: conns}, next)
	})
	if err != nil {
		return fmt.Errorf("resolve %s: %w", req.Kind(), err)
	}
	return nil
}

// multicast looks the users up concurrently and emits their connections in pages, in
// the order of the request's users and of their connection ids, as soon as a user and
// those before it are found. A lookup that fails ends the resolution after the pages of
// the users before it, so a retry, which resumes after the last connection emitted,
// looks up only the users from that one on; the order stays right when a connection
// comes or goes in between.
func (r Resolver) multicast(ctx context.Context, req Request, cursor string, emit EmitFunc) error {
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
