// Command teamlambda is a team's own pusher Lambda function: the stock one, with a
// stage that addresses each frame to its user.
package main

import (
	"context"
	"fmt"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher-lambda/function"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

func main() {
	function.Main(custom.WithStage(pipeline.Stage{Name: "address", After: pipeline.StageFanout,
		Handler: pipeline.MapFrames(func(_ context.Context, c handlers.Connection, frame []byte) ([]byte, error) {
			return fmt.Appendf(nil, `{"to":%q,"data":%s}`, c.UserID, frame), nil
		})}))
}
