package localgateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// timeFormat is how the Management API writes timestamps (smithy's date-time).
const timeFormat = "2006-01-02T15:04:05.000Z"

// post is PostToConnection: it sends the body to the connection as one text frame. A
// connection still in $connect is gone to it, as to GET and DELETE: see lookup.
func (g *Gateway) post(w http.ResponseWriter, r *http.Request) {
	c := g.lookup(r.Context(), r.PathValue("id"))
	if c == nil {
		writeGone(w)
		return
	}
	limit := g.cfg.MaxPayloadBytes
	if r.ContentLength > int64(limit) {
		writeTooLarge(w, r.ContentLength, limit)
		return
	}
	frame, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestException", fmt.Sprintf("read body: %v", err))
		return
	}
	if len(frame) > limit {
		writeTooLarge(w, int64(len(frame)), limit)
		return
	}

	// A write that its context interrupts breaks the socket, so the caller giving up must
	// not interrupt it: only WriteTimeout, which means the client is stuck, does.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), g.cfg.WriteTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, frame); err != nil {
		// The socket is dead or broken; closing it ends its read loop, which unregisters it.
		_ = c.ws.CloseNow()
		g.cfg.Logger.Debug("write frame", "connection_id", c.id, "user_id", c.user, "error", err)
		writeGone(w)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// connectionInfo is the GetConnection response, in the Management API's JSON names.
type connectionInfo struct {
	ConnectedAt  string   `json:"connectedAt"`
	Identity     identity `json:"identity"`
	LastActiveAt string   `json:"lastActiveAt"`
}

type identity struct {
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// get is GetConnection.
func (g *Gateway) get(w http.ResponseWriter, r *http.Request) {
	c := g.lookup(r.Context(), r.PathValue("id"))
	if c == nil {
		writeGone(w)
		return
	}
	writeJSON(w, http.StatusOK, connectionInfo{
		ConnectedAt:  c.connectedAt.UTC().Format(timeFormat),
		Identity:     identity{SourceIP: c.sourceIP, UserAgent: c.userAgent},
		LastActiveAt: time.Unix(0, c.lastActive.Load()).UTC().Format(timeFormat),
	})
}

// delete is DeleteConnection: it starts closing the connection, whose read loop then
// unregisters it. Like AWS it answers at once: the close handshake waits on the client,
// for up to 5s with a client that does not read.
func (g *Gateway) delete(w http.ResponseWriter, r *http.Request) {
	c := g.lookup(r.Context(), r.PathValue("id"))
	if c == nil {
		writeGone(w)
		return
	}
	go c.ws.Close(websocket.StatusNormalClosure, "")
	w.WriteHeader(http.StatusNoContent)
}

func writeGone(w http.ResponseWriter) {
	writeError(w, http.StatusGone, "GoneException", "the connection does not exist")
}

func writeTooLarge(w http.ResponseWriter, size int64, limit int) {
	msg := fmt.Sprintf("payload of %d bytes is over the %d-byte limit", size, limit)
	writeError(w, http.StatusRequestEntityTooLarge, "PayloadTooLargeException", msg)
}

// writeError answers in the shape of AWS REST-JSON errors: the SDK takes the error type
// from the X-Amzn-ErrorType header (or the body's "__type") and the text from "message".
func writeError(w http.ResponseWriter, status int, errorType, message string) {
	w.Header().Set("X-Amzn-ErrorType", errorType)
	writeJSON(w, status, struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{errorType, message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
