package pipeline

import (
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// annotate records the class of a failure and when it happened.
func annotate(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		if err != nil {
			now := time.Now().UTC().Format(time.RFC3339Nano)
			msg.Metadata.Set(ErrorClassKey, string(Classify(err)))
			if msg.Metadata.Get(FirstFailedAtKey) == "" {
				msg.Metadata.Set(FirstFailedAtKey, now)
			}
			msg.Metadata.Set(LastFailedAtKey, now)
		}
		return out, err
	}
}
