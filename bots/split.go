package bots

import "github.com/heraldnews/herald/store"

// Split cuts a body into messages that each fit l.MaxText as measured by l.Measure.
// This first version cuts only between blocks; the delivery work replaces it with
// paragraph/sentence/word splitting.
func Split(body store.Body, l Limits) []Message {
	var out []Message
	var cur store.Body
	for _, b := range body {
		next := append(append(store.Body{}, cur...), b)
		if len(cur) > 0 && l.Measure != nil && l.MaxText > 0 && l.Measure(Message{Blocks: next, Part: 99, Total: 99}) > l.MaxText {
			out = append(out, Message{Blocks: cur})
			cur = store.Body{b}
			continue
		}
		cur = next
	}
	if len(cur) > 0 {
		out = append(out, Message{Blocks: cur})
	}
	if len(out) > 1 {
		for i := range out {
			out[i].Part, out[i].Total = i+1, len(out)
		}
	}
	return out
}
