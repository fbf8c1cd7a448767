package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apigw-pusher/apigw-pusher/cmd/counter/app"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/send"
)

// intakeNotifier returns the notifier of the counter beside `pusher dev`: each broadcast
// request posted to the intake of the pusher at base (POST {base}/notifications), as
// `pusher send --dev` posts it; the intake answers 202 once its pipeline has taken the
// request, and anything else is an error saying what it answered. The post has no
// timeout of its own: the route's context bounds it (app.RouteTimeout).
func intakeNotifier(base string) app.Notifier {
	target := send.Target{DevURL: base}
	return app.NotifierFunc(func(ctx context.Context, frame json.RawMessage) error {
		// A post to pusher dev needs no AWS configuration.
		_, err := send.Send(ctx, aws.Config{}, target, app.BroadcastRequest(frame), "")
		return err
	})
}
