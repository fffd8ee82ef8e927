package lib

import (
	"fmt"
)

type Bounds struct {
	Lo int
	Hi int
}

func ClampValue(value int, lo int, hi int) int {
	if (lo > hi) {
		panic(fmt.Sprintf("lo %d > hi %d", lo, hi))
	}
	if (value < lo) {
		return lo
	} else if (value > hi) {
		return hi
	}
	return value
}
