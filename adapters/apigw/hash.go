package apigw

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
)

// emptyHash is the SHA-256 of no bytes, the payload hash of a call without a body.
const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// frameHashes remembers the SHA-256 of the frames being posted, which SigV4 signs: a
// broadcast posts one frame to every connection, and hashes it once.
//
// A frame is known by where it lives and its length, which is sound because a frame is
// never changed once posted (handlers.Fanout shares one among all deliveries) and the
// cache holds every frame it remembers, so none other can take its place in memory. A
// slice of a posted frame that aliases it (shorter, or starting further in) has a key
// of its own over bytes that did not change; an append to a frame must not write into
// the array it shares, which is why pipeline.MapFrames hands a stage its frame with no
// spare capacity: an append there copies. It
// forgets everything once it holds more than maxFrames frames or maxBytes bytes: a stage
// that makes a frame per connection only costs a map insert per post.
type frameHashes struct {
	mu    sync.Mutex
	known map[frameKey]string
	bytes int
}

type frameKey struct {
	first *byte
	n     int
}

const (
	maxFrames = 64
	maxBytes  = 4 << 20
)

// of returns the hex SHA-256 of frame.
func (h *frameHashes) of(frame []byte) string {
	if len(frame) == 0 {
		return emptyHash
	}
	key := frameKey{&frame[0], len(frame)}
	h.mu.Lock()
	sum, ok := h.known[key]
	h.mu.Unlock()
	if ok {
		return sum
	}
	raw := sha256.Sum256(frame)
	sum = hex.EncodeToString(raw[:])
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.known == nil || len(h.known) >= maxFrames || h.bytes+len(frame) > maxBytes {
		h.known, h.bytes = make(map[frameKey]string, maxFrames), 0
	}
	if _, ok := h.known[key]; !ok {
		h.known[key] = sum
		h.bytes += len(frame)
	}
	return sum
}
