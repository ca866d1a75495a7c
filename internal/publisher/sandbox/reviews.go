package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// anchor is the publication time of the newest possible review. It is fixed,
// not the wall clock, so a business's reviews are the same every day.
var anchor = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// review is one generated sandbox review. Index 0 is the newest.
type review struct {
	id        string
	author    string
	rating    int
	title     string
	text      string
	published time.Time
	updated   time.Time
	reply     *Reply

	// Markup variants, so the sandbox exercises the driver's leniency:
	// author as a plain string instead of a Person, rating as a string.
	authorAsString bool
	ratingAsString bool
}

// reviewID returns the publisher id of the review at index i: opaque, like a
// real publisher's, but a pure function of the business id and position.
func (b business) reviewID(i int) string {
	sum := sha256.Sum256([]byte(b.id + "/" + strconv.Itoa(i)))
	return "rv-" + hex.EncodeToString(sum[:6])
}

// indexOf finds the position of a review id, or reports false.
func (b business) indexOf(reviewID string) (int, bool) {
	for i := range b.count {
		if b.reviewID(i) == reviewID {
			return i, true
		}
	}
	return 0, false
}

// step is the business's average gap between reviews: 12 to 72 hours.
func (b business) step() time.Duration {
	return 12*time.Hour + time.Duration(b.seed%61)*time.Hour
}

// generate builds the review at index i. Each review has its own random
// stream, seeded by the business and the index, so a review is the same
// whatever page size it is served with.
func (b business) generate(i int) review {
	rng := rand.New(rand.NewPCG(b.seed, uint64(i)))
	step := b.step()
	// Review i falls in (anchor-(i+1)*step, anchor-i*step], so dates are
	// strictly decreasing with i.
	jitter := time.Duration(rng.Int64N(int64(step/time.Second))) * time.Second
	rv := review{
		id:             b.reviewID(i),
		author:         firstNames[rng.IntN(len(firstNames))] + " " + string(rune('A'+rng.IntN(26))) + ".",
		rating:         b.rating(i),
		published:      anchor.Add(-time.Duration(i)*step - jitter),
		authorAsString: i%5 == 3,
		ratingAsString: i%7 == 5,
	}
	rv.title = pick(rng, titles[rv.rating])
	rv.text = reviewText(rng, rv.rating)
	if rng.IntN(10) == 0 {
		rv.updated = rv.published.Add(time.Duration(1+rng.IntN(240)) * time.Hour)
	}
	if rng.IntN(10) < 3 {
		rv.reply = &Reply{
			ReviewID:    rv.id,
			Text:        strings.ReplaceAll(pick(rng, replies[rv.rating >= 4]), "{name}", strings.Fields(rv.author)[0]),
			PublishedAt: rv.published.Add(time.Duration(2+rng.IntN(70)) * time.Hour),
		}
	}
	return rv
}

// rating draws review i's stars from a stream of its own, so average need
// not generate whole reviews.
func (b business) rating(i int) int {
	return pickRating(rand.New(rand.NewPCG(b.seed^ratingSalt, uint64(i))))
}

// ratingSalt separates the rating stream from the rest of a review's.
const ratingSalt = 0x9e3779b97f4a7c15

// reviews returns reviews [from, to) with posted replies applied.
func (h *Handler) reviews(b business, from, to int) []review {
	out := make([]review, 0, max(to-from, 0))
	for i := from; i < to; i++ {
		out = append(out, b.generate(i))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, rv := range out {
		if rep, ok := h.replies[replyKey{b.id, rv.id}]; ok {
			out[i].reply = &rep
		}
	}
	return out
}

// average is the mean rating over all the business's reviews, to one decimal.
func (b business) average() float64 {
	if b.count == 0 {
		return 0
	}
	sum := 0
	for i := range b.count {
		sum += b.rating(i)
	}
	mean := float64(sum) / float64(b.count)
	return float64(int(mean*10+0.5)) / 10
}

// pickRating draws 1-5 stars, skewed positive like most review sites.
func pickRating(rng *rand.Rand) int {
	n := rng.IntN(100)
	for stars, cum := range []int{5, 12, 25, 55, 100} {
		if n < cum {
			return stars + 1
		}
	}
	return 5
}

func pick(rng *rand.Rand, options []string) string {
	return options[rng.IntN(len(options))]
}

func reviewText(rng *rand.Rand, rating int) string {
	parts := []string{pick(rng, openers[rating])}
	for range rng.IntN(3) {
		parts = append(parts, pick(rng, details[rating >= 4]))
	}
	return strings.Join(parts, " ")
}

var firstNames = []string{
	"Ann", "Ben", "Carla", "Dev", "Elif", "Femi", "Grace", "Hiro", "Ines", "Jonas",
	"Kofi", "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara",
}

var titles = map[int][]string{
	1: {"Avoid", "Very disappointing", "Never again"},
	2: {"Not great", "Below expectations", "Could be better"},
	3: {"Okay", "Average visit", "Mixed feelings"},
	4: {"Good experience", "Would come back", "Pleasant"},
	5: {"Excellent!", "Highly recommended", "Best in town"},
}

var openers = map[int][]string{
	1: {"Terrible service from start to finish.", "We waited an hour and nobody helped."},
	2: {"The staff were friendly but slow.", "Prices are high for what you get."},
	3: {"A decent place, nothing special.", "Some things were good, others less so."},
	4: {"Really nice place with helpful staff.", "Good value and a quick turnaround."},
	5: {"Absolutely wonderful from the moment we arrived.", "Outstanding quality and care."},
}

var details = map[bool][]string{
	false: {"The room was noisy.", "Our order was wrong twice.", "Parking was a nightmare."},
	true:  {"The team remembered our names.", "Spotless and well organised.", "Will recommend to friends."},
}

var replies = map[bool][]string{
	false: {"Sorry to hear this, {name}. Please contact us so we can make it right.", "Thank you for the feedback, {name}; we are looking into it."},
	true:  {"Thanks so much, {name}! See you again soon.", "We appreciate your kind words, {name}."},
}
