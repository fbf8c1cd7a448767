package lambda

import (
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// EventBridgeMessage reads an EventBridge event delivered by a rule targeting the
// function: the payload is the event as delivered (Event.Raw), from
// handlers.SourceEventBridge, which decode reads with the EventBridge mapping (which
// sees its source and detail-type), or whose detail is the request without one. The
// UUID is the event's id.
func EventBridgeMessage(ev Event) *message.Message {
	msg := message.NewMessage(ev.EventBridge.ID, []byte(ev.Raw))
	msg.Metadata.Set(pipeline.EventSourceKey, handlers.SourceEventBridge)
	return msg
}
