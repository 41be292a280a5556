module nkd/flannel-cni

go 1.22
