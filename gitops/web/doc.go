// Package web is what people look at: the SVG chart of metrics against replicas and the
// self-contained backtest report built from it.
//
// It is a leaf. It reads the core's types (policy's backtest results) and turns them into
// HTML; nothing in policy, promclient or the loop imports it, so the decision engine carries
// no presentation and a change of layout never touches a rule.
package web
