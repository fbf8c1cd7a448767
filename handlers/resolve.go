package handlers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/samber/lo"
	"golang.org/x/sync/errgroup"
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

// multicast looks the users up concurrently, then emits their connections in pages.
// Its cursor is the last connection emitted: a retry skips the connections up to it in
// the order of the request's users and of their connection ids, which stays right when
// a connection comes or goes in between.
func (r Resolver) multicast(ctx context.Context, req Request, cursor string, emit EmitFunc) error {
	users := lo.Without(req.Users, req.ExcludeUsers...)
	found := make([][]Connection, len(users))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(orDefault(r.Concurrency, 16))
	for i, user := range users {
		g.Go(func() error {
			conns, err := r.Store.UserConnections(gctx, user)
			if err != nil {
				return fmt.Errorf("resolve %s: %w", user, err)
			}
			slices.SortFunc(conns, func(a, b Connection) int { return strings.Compare(a.ConnectionID, b.ConnectionID) })
			found[i] = conns
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	conns := lo.Flatten(found)
	if last, ok := decodeConnection(cursor); ok {
		order := make(map[string]int, len(users))
		for i, u := range users {
			order[u] = i
		}
		conns = lo.Filter(conns, func(c Connection, _ int) bool {
			if mine, theirs := order[c.UserID], order[last.UserID]; mine != theirs {
				return mine > theirs
			}
			return c.ConnectionID > last.ConnectionID
		})
	}
	for _, page := range lo.Chunk(conns, orDefault(r.PageSize, 100)) {
		if err := emit(Recipients{Data: req.Data, Connections: page}, encodeConnection(page[len(page)-1])); err != nil {
			return err
		}
	}
	return nil
}

// A multicast cursor is the last connection emitted, its two keys joined by a NUL. The
// user id is the client's and may hold a NUL; the connection id is API Gateway's
// (base64), which does not: the last NUL is the one that joins them.
func encodeConnection(c Connection) string { return c.UserID + "\x00" + c.ConnectionID }

func decodeConnection(cursor string) (Connection, bool) {
	i := strings.LastIndexByte(cursor, 0)
	if i < 0 {
		return Connection{}, false
	}
	return Connection{UserID: cursor[:i], ConnectionID: cursor[i+1:]}, true
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}
