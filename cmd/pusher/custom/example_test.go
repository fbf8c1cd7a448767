package custom_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/coder/websocket"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher-lambda/function"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/cli"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

var muted = map[string]bool{"bo": true}

// dropMuted is the README's stage: it drops the connections of muted users after
// resolve, before fan-out.
var dropMuted = pipeline.Stage{Name: "drop-muted", After: pipeline.StageResolve,
	Handler: pipeline.FilterConnections(func(_ context.Context, c handlers.Connection) (bool, error) {
		return !muted[c.UserID], nil
	})}

// A team's own pusher is a main over the pusher's, with its options:
//
//	func main() { cli.Main(custom.WithStage(dropMuted)) }
//
// It has every subcommand of pusher, with the stage in the pipeline. Here it runs as
// `pusher dev`, through cli.Run, until a client of ann's gets a broadcast: bo is muted.
func Example_teamPusher() {
	ctx, cancel := context.WithCancel(context.Background())
	out, stdout := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- cli.Run(ctx, []string{"dev", "--listen", "127.0.0.1:0"}, stdout, io.Discard, custom.WithStage(dropMuted))
	}()
	// The first line is "pusher dev listening on http://127.0.0.1:PORT".
	first, _ := bufio.NewReader(out).ReadString('\n')
	go func() { _, _ = io.Copy(io.Discard, out) }()
	url := strings.TrimSpace(first[strings.LastIndex(first, " "):])

	ann, _, err := websocket.Dial(ctx, strings.Replace(url, "http", "ws", 1)+"/?user_id=ann", nil)
	if err != nil {
		panic(err)
	}
	resp, err := http.Post(url+"/notifications", "application/json", strings.NewReader(`{"data":{"text":"hi"}}`))
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	_, frame, err := ann.Read(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("ann got", string(frame))

	_ = ann.Close(websocket.StatusNormalClosure, "")
	cancel()
	fmt.Println("stopped:", <-done)
	// Output:
	// ann got {"text":"hi"}
	// stopped: <nil>
}

// A team's Lambda is a main over the function's, with the same options, built as
// bootstrap like the stock one (see cmd/pusher-lambda):
//
//	func main() { function.Main(custom.WithStage(dropMuted)) }
//
// function.Main serves invocations until the Lambda runtime ends the process, so this
// example is compiled, not run.
func Example_teamLambda() {
	function.Main(custom.WithStage(dropMuted))
}
