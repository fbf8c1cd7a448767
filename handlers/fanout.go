package handlers

// Fanout splits a page of recipients into one delivery per connection. Every delivery
// shares the page's data as its frame; none may change it.
func Fanout(page Recipients) []Delivery {
	out := make([]Delivery, len(page.Connections))
	for i, c := range page.Connections {
		out[i] = Delivery{Connection: c, Frame: page.Data, Topic: page.Topic}
	}
	return out
}
