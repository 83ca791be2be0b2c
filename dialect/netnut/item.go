package netnut

import (
	"time"

	"github.com/subgate/subgate"
)

// subUserItem is a sub-user as the NetNut dialect shows it (see the package
// comment for an example).
type subUserItem struct {
	ID                     int64            `json:"id"`
	Hash                   string           `json:"hash"`
	CustomerName           string           `json:"customer_name"`
	CustomerDashboardEmail string           `json:"customer_dashboard_email"`
	CustomerLoginName      string           `json:"customer_login_name"`
	CustomerLoginPwd       string           `json:"customer_login_pwd"`
	SnkrsPrivatePool       float64          `json:"snkrs_private_pool"`
	IsActive               bool             `json:"is_active"`
	Status                 subgate.Status   `json:"status"`
	AvailableGB            float64          `json:"available_gb"`
	UsedGB                 float64          `json:"used_gb"`
	Traffic                []productTraffic `json:"traffic"`
	CreatedAt              time.Time        `json:"created_at"`
	UpdatedAt              time.Time        `json:"updated_at"`
}

// productTraffic is one product's balance of a sub-user.
type productTraffic struct {
	ProductType    subgate.Product `json:"product_type"`
	AvailableGB    float64         `json:"available_gb"`
	UsedGB         float64         `json:"used_gb"`
	AvailableBytes int64           `json:"available_bytes"`
	UsedBytes      int64           `json:"used_bytes"`
}

func itemOf(u *subgate.SubUser) subUserItem {
	it := subUserItem{
		ID: u.ID, Hash: u.Hash, CustomerName: u.Name, CustomerDashboardEmail: u.Email,
		CustomerLoginName: u.Username, CustomerLoginPwd: u.Password, SnkrsPrivatePool: u.PrivatePool,
		IsActive: u.Status == subgate.StatusActive, Status: u.Status,
		AvailableGB: subgate.BytesToGB(u.TotalAvailable()), UsedGB: subgate.BytesToGB(u.TotalUsed()),
		Traffic:   []productTraffic{},
		CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC(),
	}
	for _, p := range subgate.Products {
		t, ok := u.Traffic[p]
		if !ok {
			continue
		}
		it.Traffic = append(it.Traffic, productTraffic{
			ProductType: p, AvailableGB: subgate.BytesToGB(t.Available), UsedGB: subgate.BytesToGB(t.Used),
			AvailableBytes: t.Available, UsedBytes: t.Used,
		})
	}
	return it
}

func itemsOf(us []*subgate.SubUser) []subUserItem {
	items := make([]subUserItem, 0, len(us))
	for _, u := range us {
		items = append(items, itemOf(u))
	}
	return items
}
