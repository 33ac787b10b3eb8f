package engine

import (
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

func ptr[T any](v T) *T { return &v }

func window(name, cron string, d time.Duration, min, max *int, tz string) policy.ScheduleWindow {
	return policy.ScheduleWindow{Name: name, Cron: cron, Duration: policy.Duration{Duration: d}, MinReplicas: min, MaxReplicas: max, Timezone: tz}
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
