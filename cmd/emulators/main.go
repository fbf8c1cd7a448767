// Command emulators runs the AWS emulators for `pusher serve` and `pusher gateway`: goaws
// (SQS and SNS, behind the proxy that lets today's SDK speak to it) and dynalite
// (DynamoDB), with the connections and subscriptions tables, a notifications queue, a poison queue and a
// topic made. It prints the environment to export, and runs until Ctrl-C.
//
// With --kinesis-stream it also runs kinesalite (Kinesis) with that stream made, and
// with --kinesis-function it hands the stream's records to a function under the Lambda
// Runtime Interface Emulator as Lambda's event source mapping does (awstest.KinesisMapping),
// through an invocation URL that takes turns with `pusher gateway --lambda-integration`,
// which it exports as LAMBDA_INTEGRATION_URL: the RIE takes one invocation at a time.
//
//	go run ./cmd/emulators      # after ./.ci/run installed them
//	go run ./cmd/emulators --kinesis-stream vehicles --kinesis-function http://127.0.0.1:9000/2015-03-31/functions/function/invocations
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
)

func main() {
	stream := flag.String("kinesis-stream", "", "also run kinesalite with this Kinesis data stream made, such as vehicles")
	shards := flag.Int("kinesis-shards", 1, "shards of the --kinesis-stream")
	function := flag.String("kinesis-function", "", "invocation `URL` of a function under the RIE to hand the --kinesis-stream's records to, as Lambda's event source mapping does")
	flag.Parse()
	if *function != "" && *stream == "" {
		fmt.Fprintln(os.Stderr, "--kinesis-function hands the records of --kinesis-stream to the function: name the stream")
		os.Exit(2)
	}

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
	if *stream != "" {
		kin := awstest.Kinesalite(p)
		client := awstest.KinesisClient(kin)
		awstest.CreateStream(p, client, *stream, *shards)
		fmt.Printf("export AWS_ENDPOINT_URL_KINESIS=%s NOTIFICATIONS_STREAM_NAME=%s\n", kin, *stream)
		if *function != "" {
			invoke := awstest.OneAtATime(p, *function)
			fmt.Printf("# pusher gateway invokes the function through this URL, taking turns with the stream's batches:\nexport LAMBDA_INTEGRATION_URL=%s\n", invoke)
			m, err := awstest.NewKinesisMapping(client, awstest.KinesisMappingConfig{
				Stream: *stream, FunctionURL: invoke, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
			})
			if err != nil {
				p.Fatal(err)
			}
			go func() {
				if err := m.Run(ctx); err != nil {
					fmt.Fprintln(os.Stderr, "the stream's records are no longer handed to the function:", err)
					stop()
				}
			}()
		}
	}
	<-ctx.Done()
}
