package memory

import (
	"context"
	"slices"
	"strings"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TopicConnections calls page with the subscribers of topic whose ids come after the
// connection id after ("" starts at the first), in connection id order, a page of up to
// the store's page size at a time, each read as it is handed over; next is the id of
// the page's last connection, or "" with a page that is not full, the last.
func (s *Store) TopicConnections(ctx context.Context, topic, after string, page func([]handlers.Connection, string) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		conns := s.topicPage(topic, after)
		if len(conns) == 0 {
			return nil
		}
		next := conns[len(conns)-1].ConnectionID
		if len(conns) < s.pageSize {
			next = ""
		}
		if err := page(conns, next); err != nil || next == "" {
			return err
		}
		after = next
	}
}

func (s *Store) topicPage(topic, after string) []handlers.Connection {
	s.mu.RLock()
	defer s.mu.RUnlock()
	subs := s.topics[topic]
	i, found := slices.BinarySearchFunc(subs, after, byConnectionID)
	if found {
		i++
	}
	return slices.Clone(subs[i:min(i+s.pageSize, len(subs))])
}

func byConnectionID(c handlers.Connection, id string) int { return strings.Compare(c.ConnectionID, id) }
