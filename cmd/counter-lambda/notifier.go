package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apigw-pusher/apigw-pusher/cmd/counter/app"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/send"
)

// sendNotifier returns the notifier of the counter on AWS: each broadcast request sent
// to target, a source the pusher reads, with send.Send as any backend sends (one
// SendMessage, Publish or PutRecord), with awsCfg. The invocation's context, which ends
// at the function's deadline, bounds it.
func sendNotifier(awsCfg aws.Config, target send.Target) app.Notifier {
	return app.NotifierFunc(func(ctx context.Context, frame json.RawMessage) error {
		_, err := send.Send(ctx, awsCfg, target, app.BroadcastRequest(frame), "")
		return err
	})
}
