package service

import "slices"

// Permission names. An API operation declares the one it requires; roles
// grant them. The permissions table (seeded by migrations) holds exactly
// these names, a test keeps the two in step, and the API refuses to start if
// an operation declares a name not listed here, so a typo cannot silently
// lock a route or leave it open.
const (
	PermUserManage      = "user.manage"
	PermAPIKeyManage    = "apikey.manage"
	PermPublisherView   = "publisher.view"
	PermPublisherManage = "publisher.manage"
	PermWebhookView     = "webhook.view"
	PermWebhookManage   = "webhook.manage"
	PermJobView         = "job.view"
	PermAdmissionView   = "admission.view"
	PermQATaskView      = "qa.task.view"
	PermQATaskClaim     = "qa.task.claim"
	PermQATaskComplete  = "qa.task.complete"
	PermQATaskAssign    = "qa.task.assign"
	PermExtensionUse    = "extension.use"
)

// Permissions lists every permission name, sorted.
var Permissions = []string{
	PermAdmissionView, PermAPIKeyManage, PermExtensionUse, PermJobView,
	PermPublisherManage, PermPublisherView, PermQATaskAssign, PermQATaskClaim,
	PermQATaskComplete, PermQATaskView, PermUserManage, PermWebhookManage,
	PermWebhookView,
}

// IsPermission reports whether name is one of Permissions.
func IsPermission(name string) bool {
	return slices.Contains(Permissions, name)
}
