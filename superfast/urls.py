from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from . import views, webhooks

admin.site.site_header = "Superfast"
admin.site.site_title = "Superfast"
admin.site.index_title = "Newsletters"

# The public archive's "not found" page, named after the site; 500 is Django's own view.
handler404 = "issues.archive.views.page_not_found"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # Only the sending ESP's tracking webhook, guarded (superfast.webhooks); no other of
    # anymail's URLs is mounted.
    path("anymail/<str:esp>/tracking/", webhooks.tracking_webhook, name="esp_tracking_webhook"),
    # With UNSUBSCRIBE_INBOUND, the sending ESP's inbound route: mailto: unsubscribes.
    path("anymail/<str:esp>/inbound/", webhooks.inbound_webhook, name="esp_inbound_webhook"),
    path("", include("subscribers.urls")),
    path("", include("issues.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
