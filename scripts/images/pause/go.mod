module nkd/pause

go 1.22
