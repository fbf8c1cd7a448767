// Package connect is `pusher connect`, a WebSocket client for trying the pusher from a
// terminal with nothing else installed: it prints each frame it receives on a line of
// its own and sends each line it reads as a text frame, as wscat or Python's
// `python -m websockets` do.
package connect

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/coder/websocket"
)

// ReadLimit is the largest frame it reads: API Gateway's WebSocket message payload
// quota is 128 KB (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html,
// "Amazon API Gateway quotas for configuring and running a WebSocket API").
const ReadLimit = 128 << 10

// Config is what `pusher connect` connects to and how long it stays.
type Config struct {
	// URL is the WebSocket URL, such as ws://127.0.0.1:8080/?user_id=alice.
	URL string
	// Frames, when above 0, ends the connection once that many frames are received.
	Frames int
}

// Validate reports a URL that is not ws or wss, or a negative Frames.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return errors.New("a WebSocket URL is needed, such as ws://127.0.0.1:8080/?user_id=alice")
	case err != nil:
		return fmt.Errorf("URL %q: %w", c.URL, err)
	case (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "":
		return fmt.Errorf("URL %q is not a ws:// or wss:// URL", c.URL)
	case c.Frames < 0:
		return fmt.Errorf("frames %d is negative", c.Frames)
	}
	return nil
}

// Run connects to cfg.URL, writes each frame received to out followed by a newline,
// and sends each line of in as a text frame, until the server closes the connection,
// cfg.Frames frames are received or ctx is done; then it closes the connection
// normally. The end of in ends the sending alone: a client fed from /dev/null or a
// pipe goes on receiving. A refused handshake is an error naming the status.
func Run(ctx context.Context, cfg Config, in io.Reader, out io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	conn, resp, err := websocket.Dial(ctx, cfg.URL, nil)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("connect %s: refused with %s", cfg.URL, resp.Status)
		}
		return fmt.Errorf("connect %s: %w", cfg.URL, err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(ReadLimit)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go send(ctx, conn, in)

	for n := 0; cfg.Frames == 0 || n < cfg.Frames; n++ {
		_, frame, err := conn.Read(ctx)
		switch {
		case websocket.CloseStatus(err) != -1:
			return nil // the server closed it, as $disconnect or a DeleteConnection does
		case ctx.Err() != nil:
			return conn.Close(websocket.StatusNormalClosure, "")
		case err != nil:
			return fmt.Errorf("read from %s: %w", cfg.URL, err)
		}
		if _, err := fmt.Fprintf(out, "%s\n", frame); err != nil {
			return fmt.Errorf("write a frame out: %w", err)
		}
	}
	return conn.Close(websocket.StatusNormalClosure, "")
}

// send sends each line of in as a text frame until in ends, a write fails or ctx is
// done. A failed write ends the connection's reads too, which Run reports.
func send(ctx context.Context, conn *websocket.Conn, in io.Reader) {
	lines := bufio.NewScanner(in)
	lines.Buffer(make([]byte, 0, 4096), ReadLimit)
	for lines.Scan() {
		if len(lines.Bytes()) == 0 {
			continue
		}
		if err := conn.Write(ctx, websocket.MessageText, lines.Bytes()); err != nil {
			return
		}
	}
}
