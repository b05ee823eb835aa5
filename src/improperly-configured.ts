/**
 * Thrown at construction time when an option is missing or invalid.
 *
 * The message names the option and says how to fix it, so a misconfigured application fails at
 * start-up rather than on the first request.
 *
 * @see https://docs.djangoproject.com/en/5.2/ref/exceptions/#improperlyconfigured
 */
export class ImproperlyConfigured extends Error {
  override readonly name = 'ImproperlyConfigured';
}
