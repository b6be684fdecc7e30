package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"slices"

	"github.com/interlock-mes/interlock/genealogy"
)

// drawGraph lays a lot's traces out as an SVG: the lot in the middle
// column, what went into it in columns to its left (one per hop), where
// it went in columns to its right, and an arrow per link labelled with
// its kind and quantity. It is a plain layered drawing, enough for the
// few dozen nodes of a page; exports are for anything bigger.
func drawGraph(center string, backward, forward []genealogy.Edge) []byte {
	layer := map[string]int{center: 0}
	for _, e := range backward {
		if _, ok := layer[e.From]; !ok {
			layer[e.From] = -e.Depth
		}
	}
	for _, e := range forward {
		if _, ok := layer[e.To]; !ok {
			layer[e.To] = e.Depth
		}
	}
	minL, maxL := 0, 0
	for _, l := range layer {
		minL, maxL = min(minL, l), max(maxL, l)
	}
	cols := map[int][]string{}
	for n, l := range layer {
		cols[l] = append(cols[l], n)
	}
	const colW, rowH, boxW, boxH, pad = 320, 70, 160, 34, 20
	type point struct{ x, y int }
	pos := map[string]point{}
	rows := 1
	for l, ns := range cols {
		slices.Sort(ns)
		for i, n := range ns {
			pos[n] = point{pad + (l-minL)*colW, pad + i*rowH}
		}
		rows = max(rows, len(ns))
	}
	width := pad*2 + (maxL-minL)*colW + boxW
	height := pad*2 + (rows-1)*rowH + boxH + 14
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="trace" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="genealogy of %s">`,
		width, height, width, height, esc(center))
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>`)
	edges := append(slices.Clone(backward), forward...)
	for _, e := range edges {
		from, okf := pos[e.From]
		to, okt := pos[e.To]
		if !okf || !okt {
			continue
		}
		x1, y1, x2, y2 := from.x+boxW, from.y+boxH/2, to.x, to.y+boxH/2
		if to.x < from.x {
			x1, x2 = from.x, to.x+boxW
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555" marker-end="url(#arrow)"/>`, x1, y1, x2, y2)
		label := string(e.Kind)
		if e.Unit != "" {
			label += " " + e.Quantity.String() + " " + e.Unit
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" text-anchor="middle" fill="#333">%s</text>`, (x1+x2)/2, (y1+y2)/2-4, esc(label))
	}
	names := make([]string, 0, len(pos))
	for n := range pos {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p := pos[n]
		fill := "#eef3fb"
		if n == center {
			fill = "#ffe9a8"
		}
		fmt.Fprintf(&b, `<g class="node" data-node="%s"><rect x="%d" y="%d" width="%d" height="%d" rx="4" fill="%s" stroke="#345"/>`, esc(n), p.x, p.y, boxW, boxH, fill)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="middle" font-family="sans-serif">%s</text></g>`, p.x+boxW/2, p.y+boxH/2+4, esc(n))
	}
	b.WriteString(`</svg>`)
	return b.Bytes()
}

func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
