package sqs

import (
	"fmt"
	"testing"
)

// TestBatcherPacks checks how queued items are cut into batches: oldest first, up to
// maxItems and maxBytes, an item over maxBytes alone.
func TestBatcherPacks(t *testing.T) {
	tests := []struct {
		name  string
		sizes []int
		want  string
	}{
		{name: "by count", sizes: []int{1, 1, 1, 1, 1, 1, 1}, want: "[[1 1 1] [1 1 1] [1]]"},
		{name: "by bytes", sizes: []int{400, 400, 300, 600, 500}, want: "[[400 400] [300 600] [500]]"},
		{name: "to the byte", sizes: []int{500, 500, 1}, want: "[[500 500] [1]]"},
		{name: "over the bytes alone", sizes: []int{10, 1200, 10}, want: "[[10] [1200] [10]]"},
		{name: "in order", sizes: []int{900, 50, 200, 50}, want: "[[900 50] [200 50]]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &batcher[int]{maxItems: 3, maxBytes: 1000, senders: 1}
			for _, s := range tt.sizes {
				b.queue = append(b.queue, &batchItem[int]{value: s, size: s})
				b.queued += s
			}
			var batches [][]int
			for batch := b.next(); batch != nil; batch = b.next() {
				var sizes []int
				for _, it := range batch {
					sizes = append(sizes, it.size)
				}
				batches = append(batches, sizes)
			}
			if got := fmt.Sprint(batches); got != tt.want {
				t.Errorf("batches %s, want %s", got, tt.want)
			}
			if b.queued != 0 || b.senders != 0 {
				t.Errorf("after the last batch, %d bytes queued and %d senders, want none", b.queued, b.senders)
			}
		})
	}
}
