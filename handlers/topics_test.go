package handlers_test

import (
	"testing"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

func TestParseClientMessage(t *testing.T) {
	tests := []struct {
		name string
		body string
		want handlers.ClientMessage
	}{
		{name: "subscribe", body: `{"action":"subscribe","topic":"order-7"}`, want: handlers.ClientMessage{Action: "subscribe", Topic: "order-7"}},
		{name: "seed 003's entityId", body: `{"action":"subscribe","entityId":"e-1"}`, want: handlers.ClientMessage{Action: "subscribe", Topic: "e-1"}},
		{name: "topic before entityId", body: `{"action":"unsubscribe","topic":"t","entityId":"e"}`, want: handlers.ClientMessage{Action: "unsubscribe", Topic: "t"}},
		{name: "another action", body: `{"action":"chat","text":"hi"}`, want: handlers.ClientMessage{Action: "chat"}},
		{name: "keys match exactly", body: `{"Action":"subscribe","Topic":"t"}`},
		{name: "an action that is no string", body: `{"action":1,"topic":"t"}`, want: handlers.ClientMessage{Topic: "t"}},
		{name: "a topic that is no string", body: `{"action":"subscribe","topic":["t"]}`, want: handlers.ClientMessage{Action: "subscribe"}},
		{name: "not JSON", body: `subscribe order-7`},
		{name: "not an object", body: `["subscribe"]`},
		{name: "empty", body: ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := handlers.ParseClientMessage([]byte(tt.body)); got != tt.want {
				t.Errorf("ParseClientMessage(%s) = %+v, want %+v", tt.body, got, tt.want)
			}
		})
	}
}
