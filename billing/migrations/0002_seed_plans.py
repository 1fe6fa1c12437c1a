"""The three plans every deployment offers. Their Stripe prices are not stored here: each plan reads its
STRIPE_PRICE_<KEY> setting at run time unless staff set a price id on it in the admin."""

from django.db import migrations

PLANS = [
    # key, name, audio minutes per period, seats, custom formats, API access, webhooks
    ("basic", "Basic", 300, 1, False, False, False),
    ("pro", "Pro", 1200, 5, True, True, False),
    ("premium", "Premium", 4000, 20, True, True, True),
]


def seed_plans(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for position, (key, name, minutes, seats, custom_formats, api_access, webhooks) in enumerate(PLANS):
        Plan.objects.get_or_create(
            key=key,
            defaults={
                "name": name,
                "audio_minutes": minutes,
                "seats": seats,
                "custom_formats": custom_formats,
                "api_access": api_access,
                "webhooks": webhooks,
                "position": position,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_plans_subscriptions_usage_events")]

    operations = [migrations.RunPython(seed_plans, migrations.RunPython.noop)]
