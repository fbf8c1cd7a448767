package lambda_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/apigw-pusher/apigw-pusher/adapters/lambda"
)

// An SQS event, as Lambda invokes a function with it, read into the pipeline's messages
// and answered with the records whose work failed.
func ExampleDecode() {
	payload := json.RawMessage(`{"Records":[{
		"messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
		"body": "{\"users\":[\"alice\"],\"data\":{\"n\":1}}",
		"messageAttributes": {"correlation_id": {"stringValue": "order-42", "dataType": "String"}},
		"eventSource": "aws:sqs",
		"eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:notifications"
	}]}`)
	ev, err := lambda.Decode(payload)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("a", ev.Kind, "event")
	msgs, _ := lambda.SQSMessages(ev.SQS)
	for _, m := range msgs {
		fmt.Println(m.UUID, middleware.MessageCorrelationID(m), string(m.Payload))
	}
	// What the pipeline's Process returned for each message.
	errs := []error{errors.New("post: 500")}
	out, _ := json.Marshal(lambda.SQSResponse(ev.SQS, errs))
	fmt.Println(string(out))
	// Output:
	// a SQS event
	// 059f36b4-87a3-44ab-83d2-661975830a7d order-42 {"users":["alice"],"data":{"n":1}}
	// {"batchItemFailures":[{"itemIdentifier":"059f36b4-87a3-44ab-83d2-661975830a7d"}]}
}
