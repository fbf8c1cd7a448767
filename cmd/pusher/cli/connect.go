package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/connect"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

func connectCommand() command {
	return command{
		name:    "connect",
		summary: "a WebSocket client: print the frames a connection receives, send lines",
		usage: `usage: pusher connect [--frames N] URL

It connects to URL, such as 'ws://127.0.0.1:8080/?user_id=alice&topic=order-7', prints
each frame received on a line of its own and sends each line typed (or piped) as a text
frame, such as {"action":"subscribe","topic":"news"}. Ctrl-C closes the connection.

flags:
`,
		define: defineConnect,
	}
}

// defineConnect defines the flags of `pusher connect`; the URL is its argument.
func defineConnect(fs *settings.Flags) runFunc {
	var cfg connect.Config
	fs.Int(&cfg.Frames, "frames", "", 0, "close the connection once this many frames are received (0: when the server closes it)")
	return func(ctx context.Context, e env, _ []custom.Option) error {
		switch fs.NArg() {
		case 0:
			return fmt.Errorf("connect needs a URL, such as 'ws://127.0.0.1:8080/?user_id=alice'")
		case 1:
		default:
			return fmt.Errorf("connect takes one URL, got %d arguments (quote a URL with &)", fs.NArg())
		}
		cfg.URL = fs.Arg(0)
		return connect.Run(ctx, cfg, os.Stdin, e.stdout)
	}
}
