// Command emulators runs the AWS emulators for `pusher serve` and `pusher gateway`: goaws
// (SQS and SNS, behind the proxy that lets today's SDK speak to it) and dynalite
// (DynamoDB), with the connections and subscriptions tables, a notifications queue, a poison queue and a
// topic made. It prints the environment to export, and runs until Ctrl-C.
//
//	go run ./cmd/emulators      # after ./.ci/run installed them
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
)

func main() {
	p := &awstest.Process{}
	defer p.Close()
	aws, dyn := awstest.GoAWS(p), awstest.Dynalite(p)
	sqs, sns := awstest.SQSClient(aws), awstest.SNSClient(aws)
	awstest.CreateConnectionsTable(p, awstest.DynamoDBClient(dyn), "ws-connections")
	awstest.CreateSubscriptionsTable(p, awstest.DynamoDBClient(dyn), "ws-subscriptions")
	queue := awstest.CreateQueue(p, sqs, "notifications", nil)
	poison := awstest.CreateQueue(p, sqs, "notifications-poison", nil)
	topic := awstest.CreateTopic(p, sns, "notifications")

	fmt.Printf(`# a local AWS is up; paste into the shells of pusher gateway, serve and send:
export AWS_REGION=%s AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_ENDPOINT_URL_SQS=%[2]s AWS_ENDPOINT_URL_SNS=%[2]s AWS_ENDPOINT_URL_DYNAMODB=%s
export CONNECTIONS_TABLE_NAME=ws-connections SUBSCRIPTIONS_TABLE_NAME=ws-subscriptions APIGW_ENDPOINT=http://127.0.0.1:8080
export NOTIFICATIONS_QUEUE_URL=%s
export POISON_QUEUE_URL=%s
# NOTIFICATIONS_TOPIC_ARN=%s (serve subscribes a queue of its own to it)
`, awstest.Region, aws, dyn, queue, poison, topic)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
}
