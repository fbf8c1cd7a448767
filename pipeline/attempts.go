package pipeline

import (
	"strconv"

	"github.com/ThreeDotsLabs/watermill/message"
)

// countAttempts counts each run of the handler, carrying on the count of a replayed message.
func countAttempts(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		msg.Metadata.Set(AttemptsKey, strconv.Itoa(attempts(msg)+1))
		return h(msg)
	}
}
