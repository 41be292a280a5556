module nkd/e2e-web

go 1.22
