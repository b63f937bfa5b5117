package extract

import (
	"regexp"

	"github.com/heraldnews/herald/store"
)

// CleanBody removes boilerplate blocks from body and any block matching dropPatterns.
func CleanBody(body store.Body, dropPatterns []*regexp.Regexp) store.Body {
	return body
}
